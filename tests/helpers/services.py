"""Private instances of the real services for tests that stop and start them (the services
themselves live in scripts/lib/private_services.py, which scripts/chaos.py shares)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from scripts.lib.private_services import (
    PrivatePostgres,
    PrivateRabbitMQ,
    PrivateService,
    can_run_private_services,
)
from tests.conftest import unavailable

__all__ = ["PrivatePostgres", "PrivateRabbitMQ", "private_service"]

Service = TypeVar("Service", bound=PrivateService)


def private_service(make: Callable[[], Service], what: str) -> Iterator[Service]:
    """A fixture's body: the service running for one test and cleaned up after it; where it cannot
    run here, the test fails under CI and is skipped elsewhere."""
    reason = can_run_private_services()
    if reason:
        unavailable(what, RuntimeError(reason))
    with make() as service:
        yield service
