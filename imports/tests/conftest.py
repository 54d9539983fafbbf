"""Fixtures of the import tests: case files, shared data sets and a real Celery worker."""

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from imports.models import RUNNING_STATUSES, ImportJob
from imports.tests.worker_process import WORKER_STALE_AFTER_SECONDS, WorkerProcess, queues_clear
from ops_portal.celery import app

CASES_DIR = Path(__file__).parent / "fixtures" / "cases"


def case_path(name: str) -> Path:
    """Return the path of a case file by its number prefix, for example "06"."""
    matches = sorted(CASES_DIR.glob(f"{name}-*"))
    assert len(matches) == 1, f"expected one case file starting with {name}- in {CASES_DIR}"
    return matches[0]


def shared_data_path(*parts: str) -> Path:
    """Return a path under settings.SHARED_DATA_DIR, or skip the test when it is missing.

    The data sets stay out of the repository; OPS_SHARED_DATA_DIR points to them.
    """
    path = Path(settings.SHARED_DATA_DIR).joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing; set OPS_SHARED_DATA_DIR to the shared data folder")
    return path


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


@pytest.fixture
def celery_worker(worker_process, transactional_db, settings):
    """The running worker, with this process queueing tasks for it instead of running them.

    Uploads go to the worker's media folder. A job that a failed test left running is
    stopped with its worker, so it cannot write into the next test's data.
    """
    worker_process.ensure_running()
    settings.MEDIA_ROOT = worker_process.media_root
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield worker_process
    finally:
        app.conf.task_always_eager = eager
        if ImportJob.objects.filter(status__in=RUNNING_STATUSES).exists():
            worker_process.kill()
        queues_clear(app)
