"""A job keeps its heartbeat while one step runs longer than IMPORT_STALE_AFTER_SECONDS.

The job runs in a thread of the test process, outside any transaction as in a worker, and
the stale sweep runs in the test's thread meanwhile. Celery runs tasks eagerly here, so
a sweep that took the job for dead would start a second run of it at once.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from imports.models import ImportJob, ImportStatus
from imports.pipeline import runner
from imports.pipeline.heartbeat import JobHeartbeat, heartbeat_interval
from imports.pipeline.runner import import_job_run, import_jobs_stale
from imports.services import import_job_start
from imports.tasks import resume_stale_jobs
from imports.tests.factories import ImportJobFactory
from inventory.models import StockLevel
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user

pytestmark = pytest.mark.django_db(transaction=True)

STALE_AFTER_SECONDS = 2
# One step of the run takes this long, well past the stale limit.
SLOW_STEP_SECONDS = 5.0
SWEEP_INTERVAL_SECONDS = 0.5
SWEEPS = 8
JOIN_TIMEOUT_SECONDS = 60


@pytest.fixture
def stale_limit(settings, tmp_path):
    settings.IMPORT_STALE_AFTER_SECONDS = STALE_AFTER_SECONDS
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def slow_open(monkeypatch) -> threading.Event:
    """Make opening the upload take SLOW_STEP_SECONDS, as calamine reading a large sheet
    does; the event is set when the slow step begins."""
    began = threading.Event()
    open_table = runner.open_table

    def slow_open_table(path, **kwargs):
        began.set()
        time.sleep(SLOW_STEP_SECONDS)
        return open_table(path, **kwargs)

    monkeypatch.setattr("imports.pipeline.runner.open_table", slow_open_table)
    return began


@pytest.fixture
def heartbeats(monkeypatch) -> list[JobHeartbeat]:
    """Collect the heartbeat of every run."""
    started: list[JobHeartbeat] = []
    start_for = JobHeartbeat.start_for

    def start_and_collect(job):
        heartbeat = start_for(job)
        started.append(heartbeat)
        return heartbeat

    monkeypatch.setattr("imports.pipeline.runner.JobHeartbeat.start_for", start_and_collect)
    return started


def _job() -> ImportJob:
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    upload = SimpleUploadedFile("count.csv", b"store,sku,qty\nS001,ACC-1,5\n")
    return import_job_start(actor=operations_user(), kind="stock", upload=upload, dispatch=False).job


def _run_in_thread(job: ImportJob) -> threading.Thread:
    def run() -> None:
        try:
            import_job_run(job_id=job.pk)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_slow_step_job_is_not_run_twice(stale_limit, slow_open, heartbeats):
    job = _job()
    thread = _run_in_thread(job)
    assert slow_open.wait(timeout=JOIN_TIMEOUT_SECONDS)

    sweeps = []
    for _ in range(SWEEPS):
        time.sleep(SWEEP_INTERVAL_SECONDS)
        sweeps.append(resume_stale_jobs())
    thread.join(timeout=JOIN_TIMEOUT_SECONDS)

    job.refresh_from_db()
    assert SWEEPS * SWEEP_INTERVAL_SECONDS > STALE_AFTER_SECONDS
    assert sweeps == [0] * SWEEPS
    assert job.status == ImportStatus.DONE
    assert job.attempts == 1
    assert StockLevel.objects.get(store__code="S001", product__sku="ACC-1").on_hand == 5
    assert len(heartbeats) == 1
    assert heartbeats[0].writes >= 2
    # At most one write per interval while the step runs, and none while progress flows.
    assert heartbeats[0].writes <= SLOW_STEP_SECONDS / heartbeats[0].interval + 1
    assert not heartbeats[0].running


def test_slow_step_without_heartbeat_counts_as_stale(stale_limit, slow_open, monkeypatch):
    # The same run with the heartbeat thread left out shows what the thread prevents.
    monkeypatch.setattr("imports.pipeline.runner.JobHeartbeat.start_for", JobHeartbeat)
    job = _job()
    thread = _run_in_thread(job)
    assert slow_open.wait(timeout=JOIN_TIMEOUT_SECONDS)

    stale: list[ImportJob] = []
    deadline = time.monotonic() + SLOW_STEP_SECONDS
    while not stale and time.monotonic() < deadline:
        time.sleep(SWEEP_INTERVAL_SECONDS)
        stale = import_jobs_stale()
    thread.join(timeout=JOIN_TIMEOUT_SECONDS)

    assert stale == [job]


def test_heartbeat_skips_job_claimed_by_other_worker(stale_limit):
    job = ImportJobFactory(status=ImportStatus.VALIDATING, attempts=1, heartbeat_at=timezone.now())
    heartbeat = JobHeartbeat(job)
    ImportJob.objects.filter(pk=job.pk).update(attempts=2)
    before = ImportJob.objects.get(pk=job.pk).heartbeat_at

    written = heartbeat._write()

    assert written is False
    assert ImportJob.objects.get(pk=job.pk).heartbeat_at == before
    assert heartbeat.writes == 0


def test_heartbeat_skips_finished_job(stale_limit):
    beat_at = timezone.now() - timedelta(minutes=5)
    job = ImportJobFactory(status=ImportStatus.DONE, attempts=1, heartbeat_at=beat_at)
    heartbeat = JobHeartbeat(job)

    written = heartbeat._write()

    assert written is False
    assert ImportJob.objects.get(pk=job.pk).heartbeat_at == beat_at


def test_heartbeat_thread_not_started_inside_transaction(stale_limit):
    job = ImportJobFactory(status=ImportStatus.PARSING, attempts=1)

    with transaction.atomic():
        heartbeat = JobHeartbeat.start_for(job)
        running = heartbeat.running
    heartbeat.stop()

    assert running is False


@pytest.mark.parametrize(("stale_after", "interval"), [(1, 0.5), (2, 0.5), (20, 5.0), (60, 10.0), (600, 10.0)])
def test_heartbeat_interval_follows_stale_limit(settings, stale_after, interval):
    settings.IMPORT_STALE_AFTER_SECONDS = stale_after

    assert heartbeat_interval() == interval
