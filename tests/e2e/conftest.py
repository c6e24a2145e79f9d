from tests.routing.conftest import pg_url  # noqa: F401  (the per-test PostgreSQL database)
