"""Which jobs count as stale, how a job that was cancelled while its worker was dead ends,
and when a done job's staged rows are deleted."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from imports.models import ImportJob, ImportStatus, StagedStock
from imports.pipeline import runner
from imports.pipeline.runner import import_job_run, import_job_staging_clear, import_jobs_stale
from imports.services import import_job_start
from imports.tasks import (
    CLEAR_STAGING_TASK,
    IMPORT_QUEUE,
    RESUME_STALE_TASK,
    RUN_JOB_TASK,
    clear_staging,
    resume_stale_jobs,
    run_job,
)
from imports.tests.factories import ImportJobFactory
from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user

pytestmark = pytest.mark.django_db


def _ago(seconds: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


def _queued_at(job: ImportJob, when: datetime.datetime) -> ImportJob:
    # updated_at is set on every save, so only an update can move it back.
    ImportJob.objects.filter(pk=job.pk).update(updated_at=when)
    return job


def test_task_names_are_pinned():
    assert (run_job.name, RUN_JOB_TASK) == ("imports.run_job", "imports.run_job")
    assert (resume_stale_jobs.name, RESUME_STALE_TASK) == (
        "imports.resume_stale_jobs", "imports.resume_stale_jobs",
    )
    assert (clear_staging.name, CLEAR_STAGING_TASK) == (
        "imports.clear_staging", "imports.clear_staging",
    )


def _small_count_job() -> ImportJob:
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    upload = SimpleUploadedFile("count.csv", b"store,sku,qty\nS001,ACC-1,5\nS001,ACC-2,3\n")
    started = import_job_start(actor=operations_user(), kind="stock", upload=upload, dispatch=False)
    return started.job


def test_done_job_queues_staging_clear(monkeypatch):
    job = _small_count_job()
    queued = []
    monkeypatch.setattr(
        runner.clear_staging, "apply_async",
        lambda args, queue: queued.append((args, queue)),
    )

    import_job_run(job_id=job.pk, staging_clear_queued=True)

    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert queued == [([job.pk], IMPORT_QUEUE)]
    assert StagedStock.objects.filter(job=job).count() == 2
    import_job_staging_clear(job_id=job.pk)
    assert StagedStock.objects.filter(job=job).count() == 0


def test_staging_cleared_at_once_without_broker(monkeypatch, caplog):
    job = _small_count_job()

    def broker_down(args, queue):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(runner.clear_staging, "apply_async", broker_down)

    import_job_run(job_id=job.pk, staging_clear_queued=True)

    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert StagedStock.objects.filter(job=job).count() == 0
    assert f"import.staging_clear_queue_failed task_id={job.task_id}" in caplog.text


def test_staging_clear_keeps_rows_of_running_job():
    job = _small_count_job()
    StagedStock.objects.create(job=job, row_number=2, store_id=1, product_id=1, quantity=5)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FINALIZING)

    import_job_staging_clear(job_id=job.pk)

    assert StagedStock.objects.filter(job=job).count() == 1


def test_stale_jobs_are_running_jobs_without_recent_heartbeat(settings):
    settings.IMPORT_STALE_AFTER_SECONDS = 60
    dead = ImportJobFactory(status=ImportStatus.LOADING, heartbeat_at=_ago(61))
    ImportJobFactory(status=ImportStatus.LOADING, heartbeat_at=_ago(30))
    ImportJobFactory(status=ImportStatus.DONE, heartbeat_at=_ago(600))
    ImportJobFactory(status=ImportStatus.FAILED, heartbeat_at=_ago(600))

    stale = import_jobs_stale()

    assert stale == [dead]


def test_stale_after_follows_setting(settings):
    settings.IMPORT_STALE_AFTER_SECONDS = 5
    dead = ImportJobFactory(status=ImportStatus.FINALIZING, heartbeat_at=_ago(6))

    stale = import_jobs_stale()

    assert stale == [dead]


def test_stale_jobs_include_queued_job_never_taken(settings):
    settings.IMPORT_STALE_AFTER_SECONDS = 60
    lost = _queued_at(ImportJobFactory(status=ImportStatus.QUEUED), _ago(61))
    _queued_at(ImportJobFactory(status=ImportStatus.QUEUED), _ago(30))

    stale = import_jobs_stale()

    assert stale == [lost]


def test_stale_jobs_include_cancel_requested_job(settings):
    # Only a new run can end a job whose worker died before it saw the cancel request.
    settings.IMPORT_STALE_AFTER_SECONDS = 60
    dead = ImportJobFactory(
        status=ImportStatus.VALIDATING, heartbeat_at=_ago(61), cancel_requested=True
    )

    stale = import_jobs_stale()

    assert stale == [dead]


def test_stale_cancel_requested_job_ends_cancelled(settings):
    settings.IMPORT_STALE_AFTER_SECONDS = 60
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    upload = SimpleUploadedFile("count.csv", b"store,sku,qty\nS001,ACC-1,5\n")
    job = import_job_start(actor=operations_user(), kind="stock", upload=upload, dispatch=False).job
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.VALIDATING, heartbeat_at=_ago(61), cancel_requested=True, attempts=1
    )

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert job.finished_at is not None
    assert job.attempts == 2
    assert StockLevel.objects.count() == 0
    assert StockMovement.objects.count() == 0
