"""Fixtures of the import tests: case files, shared data sets and a real Celery worker."""

from pathlib import Path

import pytest
from django.conf import settings

from imports.models import RUNNING_STATUSES, ImportJob
from imports.tests.worker_process import queues_clear
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
