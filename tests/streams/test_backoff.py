from __future__ import annotations

import pytest

from common.backoff import Backoff


def test_grows_by_factor_up_to_the_cap() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, maximum=15.0)
    assert [backoff.next_delay() for _ in range(7)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    assert backoff.failures == 7


def test_reset_after_success_starts_over() -> None:
    backoff = Backoff()
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_defaults_never_retry_more_than_once_a_second_and_cap_at_15s() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay() for _ in range(200)]
    assert min(delays) >= 1.0
    assert max(delays) == 15.0


@pytest.mark.parametrize("kwargs", [{"initial": 0.5}, {"factor": 0.9}, {"initial": 5.0, "maximum": 2.0}])
def test_rejects_bad_bounds(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)
