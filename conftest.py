"""Fixtures shared by every app's tests."""

import pytest
from django.conf import settings
from django.db import connection


@pytest.fixture
def mysql_only():
    if connection.vendor != "mysql":
        pytest.skip("needs MySQL or MariaDB row locks; SQLite serialises writers instead")


@pytest.fixture(scope="session")
def mysql_and_redis_only():
    """Skip unless the tests run on MySQL or MariaDB and Redis, as a real Celery worker needs."""
    if connection.vendor != "mysql":
        pytest.skip("needs MySQL or MariaDB (DATABASE_URL) for a real worker; SQLite runs none")
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL) as the broker of a real Celery worker")
