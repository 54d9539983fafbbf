"""A job whose uploaded file was deleted from MEDIA_ROOT fails with file_missing."""

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportJob, ImportStatus
from imports.pipeline.runner import import_job_run
from imports.services import import_job_retry, import_job_start
from imports.tasks import IMPORT_QUEUE, run_job
from inventory.models import StockLevel
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user

RUN_TIMEOUT_SECONDS = 30


@pytest.fixture
def catalog():
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")


def _job_without_file(user) -> tuple[ImportJob, Path]:
    upload = SimpleUploadedFile("count S001.csv", b"store,sku,qty\nS001,ACC-1,5\n")
    job = import_job_start(actor=user, kind="stock", upload=upload, dispatch=False).job
    path = Path(job.file.path)
    path.unlink()
    return job, path


def _expected_reason(path: Path) -> str:
    return (
        f"The uploaded file count S001.csv is no longer stored at {path}; upload it again as a "
        "new import."
    )


@pytest.mark.django_db
def test_missing_upload_fails_with_file_missing(settings, tmp_path, catalog):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    job, path = _job_without_file(operations_user())

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.failure_code == "file_missing"
    assert job.failure_reason == _expected_reason(path)
    assert job.finished_at is not None
    assert StockLevel.objects.count() == 0


@pytest.mark.django_db
def test_retry_of_missing_upload_fails_again(settings, tmp_path, catalog):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    user = operations_user()
    job, path = _job_without_file(user)
    import_job_run(job_id=job.pk)

    import_job_retry(actor=user, job=job, dispatch=False)
    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.failure_code == "file_missing"
    assert job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_worker_fails_job_whose_upload_is_gone(celery_worker, catalog):
    job, path = _job_without_file(operations_user())

    run_job.apply_async(args=[job.pk], queue=IMPORT_QUEUE)
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while not (current := ImportJob.objects.get(pk=job.pk)).is_finished and time.monotonic() < deadline:
        time.sleep(0.1)

    assert current.status == ImportStatus.FAILED, celery_worker.log_tail()
    assert current.failure_code == "file_missing"
    assert current.failure_reason == _expected_reason(path)
    assert f"import.worker_fault task_id={job.task_id}" not in celery_worker.log_tail()
