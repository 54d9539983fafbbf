"""Fixtures shared by every app's tests."""

import os
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from imports.tests.worker_process import WORKER_STALE_AFTER_SECONDS, WorkerProcess, queues_clear
from ops_portal.celery import app


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


def _database_url(database: dict) -> str:
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    return f"mysql://{credentials}@{host}:{database['PORT'] or 3306}/{database['NAME']}"


@pytest.fixture(scope="session")
def worker_process(mysql_and_redis_only, django_db_setup, tmp_path_factory):
    """A Celery worker on the test database and Redis, started on first use, stopped at the end."""
    folder = tmp_path_factory.mktemp("worker")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "IMPORT_STALE_AFTER_SECONDS": str(WORKER_STALE_AFTER_SECONDS),
        "OPS_VAR_DIR": str(folder / "var"),
        "OPS_MEDIA_ROOT": str(folder / "media"),
        "DJANGO_DEBUG": "0",
    }
    worker = WorkerProcess(
        env=env, cwd=settings.BASE_DIR, log_path=folder / "worker.log", media_root=folder / "media"
    )
    queues_clear(app)
    try:
        yield worker
    finally:
        worker.stop()
        queues_clear(app)
