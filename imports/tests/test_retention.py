"""Retention: old finished imports lose their files, staged rows and error rows, and keep their row."""

import io
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from imports.errors import ImportRequestError
from imports.events import import_event_payload
from imports.models import ImportJob, ImportRowError, ImportStatus, StagedStock
from imports.pipeline.staging import staging_dir
from imports.retention import import_jobs_purge
from imports.services import import_job_rerun, import_job_retry
from imports.tasks import IMPORT_QUEUE, PURGE_TASK, purge_old_jobs
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user
from ops_portal.celery import app

pytestmark = pytest.mark.django_db

RUN_TIMEOUT_SECONDS = 30


@pytest.fixture
def files(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def _days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def _job_with_files(*, finished_days_ago: float | None, status: str = ImportStatus.FAILED,
                    file_name: str | None = None, **fields) -> ImportJob:
    """Return a job with an upload, a staging folder, three staged rows and two error rows."""
    finished_at = _days_ago(finished_days_ago) if finished_days_ago is not None else None
    job = ImportJobFactory(
        status=status, finished_at=finished_at, rows_ok=3, rows_bad=2,
        checkpoint={"phase": "finalizing", "plain_after": [1, 1]}, **fields,
    )
    if file_name is None:
        file_name = default_storage.save(f"imports/{job.task_id}/count.csv", ContentFile(b"store,sku,qty\n"))
    ImportJob.objects.filter(pk=job.pk).update(file=file_name)
    job.file.name = file_name
    folder = staging_dir(job)
    folder.mkdir(parents=True)
    (folder / "chunk-00001.tsv").write_text("1\t2\n", encoding="utf-8")
    store = StoreFactory()
    product = ProductFactory()
    StagedStock.objects.bulk_create(
        [StagedStock(job=job, row_number=row, store_id=store.pk, product_id=product.pk, quantity=1)
         for row in (2, 3, 4)]
    )
    ImportRowError.objects.bulk_create(
        [ImportRowError(job=job, row_number=row, column="sku", value="X", code="sku_unknown",
                        message="No product has SKU X.")
         for row in (5, 6)]
    )
    return job


def _upload_path(job: ImportJob) -> Path:
    return Path(django_settings.MEDIA_ROOT) / job.file.name


def _leftovers(job: ImportJob) -> dict:
    return {
        "upload": _upload_path(job).exists(),
        "upload_folder": _upload_path(job).parent.exists(),
        "staging_folder": staging_dir(job).parent.exists(),
        "staged_rows": StagedStock.objects.filter(job=job).count(),
        "row_errors": ImportRowError.objects.filter(job=job).count(),
    }


KEPT = {"upload": True, "upload_folder": True, "staging_folder": True, "staged_rows": 3, "row_errors": 2}
GONE = {"upload": False, "upload_folder": False, "staging_folder": False, "staged_rows": 0, "row_errors": 0}


def test_purge_clears_old_job_and_keeps_its_row(files):
    job = _job_with_files(finished_days_ago=100)

    report = import_jobs_purge(older_than_days=90)

    job.refresh_from_db()
    assert _leftovers(job) == GONE
    assert job.purged_at is not None
    assert job.checkpoint == {}
    assert (job.status, job.rows_ok, job.rows_bad) == (ImportStatus.FAILED, 3, 2)
    assert [(purged.task_id, purged.row_errors, purged.staged_rows, purged.file_removed)
            for purged in report.imports] == [(job.task_id, 2, 3, True)]


def test_purge_leaves_recent_queued_and_running_jobs(files):
    recent = _job_with_files(finished_days_ago=10, status=ImportStatus.DONE)
    running = _job_with_files(finished_days_ago=None, status=ImportStatus.FINALIZING)
    queued = _job_with_files(finished_days_ago=None, status=ImportStatus.QUEUED)
    # Running and queued jobs are old too, and a running job may carry an old finished_at.
    ImportJob.objects.filter(pk__in=[running.pk, queued.pk]).update(created_at=_days_ago(400))
    ImportJob.objects.filter(pk=running.pk).update(finished_at=_days_ago(300))

    report = import_jobs_purge(older_than_days=90)

    assert report.imports == []
    assert report.staging_folders == [staging_dir(recent).parent]
    for job in (running, queued):
        job.refresh_from_db()
        assert _leftovers(job) == KEPT
        assert job.purged_at is None
    recent.refresh_from_db()
    assert recent.purged_at is None
    assert _leftovers(recent) == {**KEPT, "staging_folder": False}


def test_purge_dry_run_removes_nothing(files):
    job = _job_with_files(finished_days_ago=100)

    report = import_jobs_purge(older_than_days=90, dry_run=True)

    job.refresh_from_db()
    assert [(purged.task_id, purged.file_removed) for purged in report.imports] == [(job.task_id, True)]
    assert report.staging_folders == [staging_dir(job).parent]
    assert _leftovers(job) == KEPT
    assert job.purged_at is None


def test_purge_keeps_file_that_recent_rerun_reads(files):
    original = _job_with_files(finished_days_ago=100, status=ImportStatus.DONE)
    rerun = _job_with_files(finished_days_ago=5, status=ImportStatus.DONE,
                            file_name=original.file.name)

    import_jobs_purge(older_than_days=90)
    file_after_first_purge = _upload_path(original).exists()
    ImportJob.objects.filter(pk=rerun.pk).update(finished_at=_days_ago(95))
    import_jobs_purge(older_than_days=90)

    original.refresh_from_db()
    rerun.refresh_from_db()
    assert file_after_first_purge is True
    assert original.purged_at is not None
    assert rerun.purged_at is not None
    assert _upload_path(original).exists() is False


def test_purge_failure_unmarks_job(files, monkeypatch, caplog):
    job = _job_with_files(finished_days_ago=100)

    def disk_error(job):
        raise PermissionError(13, "Permission denied", str(_upload_path(job)))

    monkeypatch.setattr("imports.retention._upload_remove", disk_error)

    report = import_jobs_purge(older_than_days=90)

    job.refresh_from_db()
    assert report.imports == []
    assert job.purged_at is None
    assert _upload_path(job).exists()
    assert f"import.purge_failed task_id={job.task_id}" in caplog.text


def test_staging_folders_of_finished_jobs_removed(files):
    done = ImportJobFactory(status=ImportStatus.DONE, finished_at=timezone.now())
    cancelled = ImportJobFactory(status=ImportStatus.CANCELLED, finished_at=timezone.now())
    running = ImportJobFactory(status=ImportStatus.LOADING)
    # A dead worker left the files of the done job; a normal end leaves an empty task folder.
    for job in (done, running):
        staging_dir(job).mkdir(parents=True)
        (staging_dir(job) / "chunk-00001.tsv").write_text("1\t2\n", encoding="utf-8")
    staging_dir(cancelled).parent.mkdir(parents=True)
    unknown = Path(django_settings.VAR_DIR) / "imports" / str(uuid.uuid4())
    other = Path(django_settings.VAR_DIR) / "imports" / "notes"
    unknown.mkdir()
    other.mkdir()

    removed = import_jobs_purge(older_than_days=90).staging_folders

    assert sorted(removed) == sorted([staging_dir(done).parent, staging_dir(cancelled).parent])
    assert not staging_dir(done).parent.exists()
    assert not staging_dir(cancelled).parent.exists()
    assert staging_dir(running).exists()
    assert unknown.exists()
    assert other.exists()


def test_retry_of_purged_job_rejected(files):
    job = _job_with_files(finished_days_ago=100)
    import_jobs_purge(older_than_days=90)

    with pytest.raises(ImportRequestError) as error:
        import_job_retry(actor=operations_user(), job=job, dispatch=False)

    job.refresh_from_db()
    purged_on = timezone.localdate(job.purged_at).isoformat()
    assert error.value.code == "import_purged"
    assert error.value.status_code == 409
    assert error.value.message == (
        f"The file of import {job.task_id} was removed on {purged_on}, 100 days after the import "
        "finished, under the retention of finished imports. Upload it again as a new import."
    )
    assert job.status == ImportStatus.FAILED


def test_rerun_of_purged_job_rejected(files):
    job = _job_with_files(finished_days_ago=100, status=ImportStatus.DONE)
    import_jobs_purge(older_than_days=90)

    with pytest.raises(ImportRequestError) as error:
        import_job_rerun(actor=operations_user(), job=job, dispatch=False)

    assert error.value.code == "import_purged"
    assert ImportJob.objects.count() == 1


def test_api_detail_shows_purged_at(client, files):
    job = _job_with_files(finished_days_ago=100, status=ImportStatus.DONE)
    client.force_login(operations_user())
    before = client.get(f"/api/imports/{job.task_id}").json()
    import_jobs_purge(older_than_days=90)

    after = client.get(f"/api/imports/{job.task_id}").json()

    job.refresh_from_db()
    assert before["purged_at"] is None
    # The API writes milliseconds.
    assert abs(datetime.fromisoformat(after["purged_at"]) - job.purged_at) < timedelta(milliseconds=1)


def test_api_retry_of_purged_job_conflicts(client, files):
    job = _job_with_files(finished_days_ago=100)
    import_jobs_purge(older_than_days=90)
    client.force_login(operations_user())

    response = client.post(f"/api/imports/{job.task_id}/retry")

    assert response.status_code == 409
    assert response.json()["code"] == "import_purged"
    assert response.json()["field_errors"] == {}


@pytest.mark.django_db(transaction=True)
def test_error_report_of_purged_job_is_gone(client, files):
    job = _job_with_files(finished_days_ago=100, status=ImportStatus.DONE)
    import_jobs_purge(older_than_days=90)
    client.force_login(operations_user())

    response = client.get(f"/api/imports/{job.task_id}/errors.csv")

    body = json.loads(response.content)
    assert response.status_code == 410
    assert response["Content-Type"] == "application/json"
    assert set(body) == {"code", "message", "field_errors"}
    assert body["code"] == "import_purged"
    assert body["message"].startswith(f"The error report of import {job.task_id} was removed on ")
    assert "The job still counts 2 rejected rows." in body["message"]


def test_admin_shows_purge(client, files):
    job = _job_with_files(finished_days_ago=100, status=ImportStatus.DONE)
    import_jobs_purge(older_than_days=90)
    client.force_login(operations_user())

    response = client.get(f"/admin/imports/importjob/{job.pk}/change/")

    job.refresh_from_db()
    assert response.status_code == 200
    assert b"Purged at" in response.content
    removed_on = f"Removed with the uploaded file on {timezone.localdate(job.purged_at):%Y-%m-%d}"
    assert removed_on.encode() in response.content


def test_purge_command_lists_and_removes(files):
    job = _job_with_files(finished_days_ago=100)
    out = io.StringIO()

    call_command("imports_purge", "--older-than", "90", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"Purged import {job.task_id}: failed, finished ")
    assert lines[0].endswith(f"file {job.file.name}, 2 error rows, 3 staged rows")
    assert lines[-1].startswith("Purged 1 import(s) finished before ")
    assert lines[-1].endswith("and removed 0 staging folder(s).")
    assert _leftovers(job) == GONE


def test_import_status_shows_purge(files):
    job = _job_with_files(finished_days_ago=100)
    import_jobs_purge(older_than_days=90)
    out = io.StringIO()

    call_command("import_status", str(job.task_id), stdout=out)

    job.refresh_from_db()
    removed_at = f"{job.purged_at:%Y-%m-%d %H:%M:%S}"
    assert f"  file and error report removed at {removed_at} (retention)" in out.getvalue()


def test_purge_command_dry_run_keeps_everything(files):
    job = _job_with_files(finished_days_ago=100)
    out = io.StringIO()

    call_command("imports_purge", "--dry-run", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"Would purge import {job.task_id}: ")
    assert lines[1] == f"Would remove staging folder {staging_dir(job).parent}"
    assert lines[-1].endswith("Dry run: nothing was removed.")
    assert _leftovers(job) == KEPT


def test_purge_command_default_follows_setting(files, settings):
    settings.IMPORT_RETENTION_DAYS = 30
    old = _job_with_files(finished_days_ago=40)
    young = _job_with_files(finished_days_ago=20)

    call_command("imports_purge", stdout=io.StringIO())

    old.refresh_from_db()
    young.refresh_from_db()
    assert old.purged_at is not None
    assert young.purged_at is None


def test_purge_command_rejects_zero_days(files):
    job = _job_with_files(finished_days_ago=100)

    with pytest.raises(CommandError) as error:
        call_command("imports_purge", "--older-than", "0", stdout=io.StringIO())

    assert str(error.value) == "--older-than 0 is invalid; give a number of days of 1 or more."
    assert _leftovers(job) == KEPT


def test_purge_task_uses_retention_setting(files, settings):
    settings.IMPORT_RETENTION_DAYS = 30
    old = _job_with_files(finished_days_ago=40)
    _job_with_files(finished_days_ago=20)

    purged = purge_old_jobs()

    old.refresh_from_db()
    assert purged == 1
    assert old.purged_at is not None


def test_purge_task_name_is_pinned():
    assert (purge_old_jobs.name, PURGE_TASK) == ("imports.purge_old_jobs", "imports.purge_old_jobs")


def test_purge_runs_hourly_on_imports_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["imports-purge-old"]

    assert entry["task"] == PURGE_TASK
    assert entry["schedule"] == 3600.0
    assert entry["options"]["queue"] == IMPORT_QUEUE


@pytest.mark.parametrize(("value", "days"), [(None, 90), ("30", 30)])
def test_retention_days_read_from_environment(value, days):
    env = {key: item for key, item in os.environ.items() if key != "OPS_IMPORT_RETENTION_DAYS"}
    if value is not None:
        env["OPS_IMPORT_RETENTION_DAYS"] = value

    finished = _settings_print(env, "IMPORT_RETENTION_DAYS")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == str(days)


def test_retention_days_below_one_rejected():
    env = {**os.environ, "OPS_IMPORT_RETENTION_DAYS": "0"}

    finished = _settings_print(env, "IMPORT_RETENTION_DAYS")

    assert finished.returncode != 0
    assert "OPS_IMPORT_RETENTION_DAYS is 0; set it to 1 or more days." in finished.stderr


def _settings_print(env: dict, name: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        f"print(settings.{name})"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=django_settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "ops_portal.settings"},
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_worker_runs_scheduled_purge(celery_worker, settings):
    # The worker's OPS_VAR_DIR is next to its media folder.
    settings.VAR_DIR = celery_worker.media_root.parent / "var"
    job = _job_with_files(finished_days_ago=100)
    entry = django_settings.CELERY_BEAT_SCHEDULE["imports-purge-old"]

    app.send_task(entry["task"], **entry["options"])
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while ImportJob.objects.get(pk=job.pk).purged_at is None and time.monotonic() < deadline:
        time.sleep(0.1)

    job.refresh_from_db()
    assert job.purged_at is not None, celery_worker.log_tail()
    assert not _upload_path(job).exists()
    assert not staging_dir(job).parent.exists()
    assert StagedStock.objects.filter(job=job).count() == 0
    assert ImportRowError.objects.filter(job=job).count() == 0


def test_purged_job_event_has_no_report_url(files):
    job = _job_with_files(finished_days_ago=100, status=ImportStatus.DONE)
    import_jobs_purge(older_than_days=90)
    job.refresh_from_db()

    payload = import_event_payload(job=job)

    assert job.rows_bad > 0
    assert payload["error_report_url"] is None
