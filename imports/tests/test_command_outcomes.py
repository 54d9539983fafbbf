"""How import_file, rerun_import and cancel_import end: their last line and their exit status.

Most tests queue the job with --worker while Celery runs tasks eagerly, so the job runs in
the test's thread when its upload commits and the command reports a finished job. The
tests marked for MariaDB and Redis use a real worker, or none at all.
"""

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from imports.management.commands._progress import WORKER_START_COMMAND
from imports.management.commands.import_file import Command as ImportFileCommand
from imports.models import ImportJob, ImportStatus
from imports.pipeline.runner import JobCancelled
from imports.tests.factories import ImportJobFactory
from imports.tests.test_worker import (  # noqa: F401 - stock_count and stock_catalog are fixtures
    _in_phase,
    _post,
    _wait_finished,
    _wait_until,
    stock_catalog,
    stock_count,
)
from imports.tests.worker_process import queues_clear
from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user
from ops_portal.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

SUBPROCESS_TIMEOUT_SECONDS = 90


@pytest.fixture
def files(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


@pytest.fixture
def catalog():
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")


def _csv(folder: Path, content: str, name: str = "count.csv") -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def _import_file(path: Path, *, stdout: io.StringIO, **options) -> None:
    call_command(
        "import_file", str(path), kind="stock", user=operations_user().username,
        stdout=stdout, **options,
    )


def _lines(out: io.StringIO, error: pytest.ExceptionInfo) -> list[str]:
    """Return what the command printed, with the CommandError as the last line."""
    return [*out.getvalue().splitlines(), str(error.value)]


def test_import_file_done_ends_with_finished(files, catalog):
    out = io.StringIO()

    _import_file(_csv(files, "store,sku,qty\nS001,ACC-1,5\nS001,ACC-1,x\n"), stdout=out, worker=True)

    lines = out.getvalue().splitlines()
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE
    assert "imported 1, rejected 1" in lines[-3]
    assert lines[-2] == (
        f"Error report: /api/imports/{job.task_id}/errors.csv in the portal, or "
        f"`manage.py import_status {job.pk} --error-report FILE`"
    )
    assert lines[-1] == "Import finished."


def test_import_file_all_rows_rejected_fails(files, catalog):
    out = io.StringIO()

    with pytest.raises(CommandError) as error:
        _import_file(_csv(files, "store,sku,qty\nS001,NOPE-1,5\nS001,ACC-1,x\n"), stdout=out,
                     worker=True)

    job = ImportJob.objects.get()
    last = _lines(out, error)[-1]
    assert (job.status, job.rows_ok, job.rows_bad) == (ImportStatus.DONE, 0, 2)
    assert last.startswith(f"Import {job.task_id} changed nothing: all 2 rows were rejected.")
    assert f"/api/imports/{job.task_id}/errors.csv" in last
    assert "Import finished." not in out.getvalue()
    assert StockLevel.objects.count() == 0


def test_import_file_failed_job_never_says_imported(files, catalog):
    out = io.StringIO()

    with pytest.raises(CommandError) as error:
        _import_file(_csv(files, "store,quantity_of_nothing\nS001,5\n"), stdout=out, worker=True)

    job = ImportJob.objects.get()
    lines = _lines(out, error)
    assert job.status == ImportStatus.FAILED
    assert lines[-1].startswith(f"Import {job.task_id} failed (column_missing): ")
    assert not [line for line in lines if "imported" in line]


def test_import_file_cancelled_job_fails(files, catalog, monkeypatch):
    def cancel_requested(job):
        raise JobCancelled

    monkeypatch.setattr("imports.pipeline.runner._cancel_check", cancel_requested)
    out = io.StringIO()

    with pytest.raises(CommandError) as error:
        _import_file(_csv(files, "store,sku,qty\nS001,ACC-1,5\n"), stdout=out, worker=True)

    job = ImportJob.objects.get()
    lines = _lines(out, error)
    assert job.status == ImportStatus.CANCELLED
    assert lines[-1] == (
        f"Import {job.task_id} was cancelled before it changed any data. "
        f"`manage.py rerun_import {job.task_id}` runs it again."
    )
    assert not [line for line in lines if "imported" in line]
    assert StockLevel.objects.count() == 0


def test_import_file_no_worker_times_out(files, catalog, monkeypatch):
    # The task message is sent, and no worker ever takes it.
    sent: list[list] = []
    monkeypatch.setattr(
        "imports.tasks.run_job.apply_async", lambda args, queue: sent.append([args, queue])
    )
    out = io.StringIO()
    started = time.monotonic()

    with pytest.raises(CommandError) as error:
        _import_file(_csv(files, "store,sku,qty\nS001,ACC-1,5\n"), stdout=out, worker=True,
                     worker_timeout=0.6)

    waited = time.monotonic() - started
    job = ImportJob.objects.get()
    message = str(error.value)
    assert sent == [[[job.pk], "imports"]]
    assert job.status == ImportStatus.QUEUED
    assert 0.6 <= waited < 10
    assert message.startswith(f"No worker took import {job.task_id} within 0.6 s.")
    assert f"`{WORKER_START_COMMAND}`" in message
    assert f"stays queued as task {job.task_id}" in message
    assert f"manage.py cancel_import {job.task_id}" in message


def test_import_file_worker_timeout_defaults_to_60_seconds():
    parser = ImportFileCommand().create_parser("manage.py", "import_file")

    options = parser.parse_args(["count.csv", "--kind", "stock", "--worker"])

    assert options.worker_timeout == 60


def test_import_file_rejects_zero_worker_timeout(files, catalog):
    with pytest.raises(CommandError) as error:
        _import_file(_csv(files, "store,sku,qty\nS001,ACC-1,5\n"), stdout=io.StringIO(),
                     worker=True, worker_timeout=0)

    assert str(error.value) == "--worker-timeout 0 is invalid; give a number of seconds above 0."
    assert ImportJob.objects.count() == 0


def test_rerun_import_no_worker_times_out(files, monkeypatch):
    job = ImportJobFactory(status=ImportStatus.FAILED, finished_at=timezone.now())
    monkeypatch.setattr("imports.tasks.run_job.apply_async", lambda args, queue: None)

    with pytest.raises(CommandError) as error:
        call_command("rerun_import", str(job.pk), user=operations_user().username, worker=True,
                     worker_timeout=0.6, stdout=io.StringIO())

    job.refresh_from_db()
    assert str(error.value).startswith(f"No worker took import {job.task_id} within 0.6 s.")
    assert job.status == ImportStatus.QUEUED


def test_cancel_import_cancels_queued_job():
    job = ImportJobFactory(status=ImportStatus.QUEUED)
    out = io.StringIO()

    call_command("cancel_import", str(job.task_id), user=operations_user().username, stdout=out)

    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert job.finished_at is not None
    assert out.getvalue().strip() == f"Import {job.task_id} cancelled."


def test_cancel_import_requests_stop_of_running_job():
    job = ImportJobFactory(status=ImportStatus.VALIDATING)
    out = io.StringIO()

    call_command("cancel_import", str(job.pk), user=operations_user().username, stdout=out)

    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATING
    assert job.cancel_requested is True
    assert out.getvalue().startswith(
        f"Cancel of import {job.task_id} requested. It is validating and stops at its next "
        "chunk boundary"
    )


def test_cancel_import_rejects_unknown_id():
    operations_user()

    with pytest.raises(CommandError) as error:
        call_command("cancel_import", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", stdout=io.StringIO())

    assert str(error.value) == (
        "Import 1b4e28ba-2fa1-11d2-883f-0016d3cca427 was not found. "
        "`manage.py import_status` lists the imports."
    )


def test_cancel_import_rejects_finished_job():
    job = ImportJobFactory(status=ImportStatus.DONE, finished_at=timezone.now())

    with pytest.raises(CommandError) as error:
        call_command("cancel_import", str(job.task_id), user=operations_user().username,
                     stdout=io.StringIO())

    job.refresh_from_db()
    assert str(error.value) == f"Import {job.task_id} is already done, so it cannot be cancelled."
    assert job.status == ImportStatus.DONE
    assert job.cancel_requested is False


def test_import_file_with_real_worker_finishes(celery_worker, tmp_path):
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    out = io.StringIO()

    _import_file(_csv(tmp_path, "store,sku,qty\nS001,ACC-1,5\n"), stdout=out, worker=True,
                 worker_timeout=30)

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE
    assert job.attempts == 1
    assert out.getvalue().splitlines()[-1] == "Import finished."
    assert StockLevel.objects.get(store__code="S001", product__sku="ACC-1").on_hand == 5


def test_cancel_import_stops_job_on_real_worker(celery_worker, client, stock_catalog, stock_count):
    # The user exists before the job starts: hashing a new user's password takes long
    # enough for the worker to get past validating.
    user = operations_user()
    client.force_login(user)
    job = _post(client, stock_count.content)
    # Any point of validating will do: progress is written at most every 0.25 s, and on a
    # fast machine the row may show no rows done before validating ends.
    _wait_until(celery_worker, job, _in_phase("validating", 0), what="validating")
    out = io.StringIO()

    call_command("cancel_import", str(job.task_id), user=user.username, stdout=out)
    job = _wait_finished(celery_worker, job, timeout=30)

    assert out.getvalue().startswith(f"Cancel of import {job.task_id} requested.")
    assert job.status == ImportStatus.CANCELLED
    assert StockMovement.objects.filter(import_job_id=job.pk).count() == 0


def test_import_file_no_worker_exits_1(worker_process, tmp_path):
    # A real broker without a worker: the message waits in Redis and no worker takes it.
    worker_process.stop()
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    user = operations_user()
    path = _csv(tmp_path, "store,sku,qty\nS001,ACC-1,5\n")
    try:
        finished = subprocess.run(
            [sys.executable, "manage.py", "import_file", str(path), "--kind", "stock",
             "--user", user.username, "--worker", "--worker-timeout", "2"],
            cwd=django_settings.BASE_DIR, env=worker_process.env, capture_output=True, text=True,
            timeout=SUBPROCESS_TIMEOUT_SECONDS,
        )
    finally:
        queues_clear(app)

    job = ImportJob.objects.get()
    last_line = finished.stderr.strip().splitlines()[-1]
    assert finished.returncode == 1, finished.stderr
    assert last_line.startswith(f"CommandError: No worker took import {job.task_id} within 2 s.")
    assert job.status == ImportStatus.QUEUED
    assert job.attempts == 0
