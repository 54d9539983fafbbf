"""Retention of finished imports: their uploads, staging folders, staged rows and error rows.

A job that finished (done, failed or cancelled) more than IMPORT_RETENTION_DAYS ago loses
everything but its row, which stays as the record of who imported what and when, with
its counts. Its purged_at records when. A retry, a rerun or a download of its error
report is then rejected with a message that gives the date. Queued and running jobs are
never touched.
"""

import datetime
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.db.models import Count
from django.utils import timezone

from imports.errors import ImportErrorCode, ImportRequestError
from imports.models import (
    FINISHED_STATUSES,
    ImportJob,
    ImportRowError,
    StagedPrice,
    StagedProduct,
    StagedSale,
    StagedStock,
)
from imports.pipeline.staging import staging_clear, staging_dir

logger = logging.getLogger(__name__)

STAGED_MODELS: tuple[type[models.Model], ...] = (StagedProduct, StagedPrice, StagedStock, StagedSale)
# Task ids per query when the staging folders are matched with their jobs.
FOLDER_LOOKUP_BATCH = 500


@dataclass(frozen=True)
class PurgedImport:
    """One job that the purge cleared, or would clear in a dry run."""

    task_id: uuid.UUID
    status: str
    finished_at: datetime.datetime
    file_name: str
    # False when the file was already gone, or another job that is kept reads it too
    # (a rerun shares its original's file).
    file_removed: bool
    row_errors: int
    staged_rows: int


@dataclass
class PurgeReport:
    cutoff: datetime.datetime
    dry_run: bool
    imports: list[PurgedImport] = field(default_factory=list)
    staging_folders: list[Path] = field(default_factory=list)


def import_jobs_purge(*, older_than_days: int, dry_run: bool = False) -> PurgeReport:
    """Clear every job that finished more than ``older_than_days`` days ago, and stray staging folders.

    The job rows stay. With ``dry_run`` nothing is removed, and the report lists what
    would go.
    """
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    expired = ImportJob.objects.filter(
        status__in=FINISHED_STATUSES, finished_at__lt=cutoff, purged_at__isnull=True
    )
    jobs = list(expired.order_by("finished_at", "pk"))
    row_errors = _rows_by_job(ImportRowError, expired)
    staged_rows: dict[int, int] = {}
    for model in STAGED_MODELS:
        for job_id, count in _rows_by_job(model, expired).items():
            staged_rows[job_id] = staged_rows.get(job_id, 0) + count
    candidate_ids = {job.pk for job in jobs}

    for job in jobs:
        counts = {"row_errors": row_errors.get(job.pk, 0), "staged_rows": staged_rows.get(job.pk, 0)}
        if dry_run:
            removable = _upload_removable(job, also_purged=candidate_ids)
            report.imports.append(_purged_import(job, file_removed=removable, **counts))
            continue
        purged = import_job_purge(job=job, **counts)
        if purged is not None:
            report.imports.append(purged)

    report.staging_folders = import_staging_folders_remove(dry_run=dry_run)
    if not dry_run and (report.imports or report.staging_folders):
        logger.info(
            "import.purge_finished jobs=%s staging_folders=%s older_than_days=%s",
            len(report.imports), len(report.staging_folders), older_than_days,
        )
    return report


def import_job_purge(*, job: ImportJob, row_errors: int = 0, staged_rows: int = 0) -> PurgedImport | None:
    """Remove one finished job's upload, staging folder, staged rows and error rows.

    The job is marked purged first, under its row lock, so a retry that comes later is
    rejected instead of starting from a file that is being removed. Returns None when
    the job is no longer finished (a retry queued it again), was purged meanwhile, or
    its removal failed. The counts are only reported back.
    """
    with transaction.atomic():
        locked = (
            ImportJob.objects.select_for_update()
            .filter(pk=job.pk, status__in=FINISHED_STATUSES, purged_at__isnull=True)
            .first()
        )
        if locked is None:
            return None
        locked.purged_at = timezone.now()
        # The purge leaves no staged rows, so a retry must not resume from a checkpoint.
        locked.checkpoint = {}
        ImportJob.objects.filter(pk=locked.pk).update(purged_at=locked.purged_at, checkpoint={})

    try:
        _job_rows_delete(locked)
        file_removed = _upload_remove(locked)
        _staging_folder_remove(staging_dir(locked).parent)
    except (DatabaseError, OSError):
        # NOTE: a process killed at this point leaves the job marked purged with some of
        # its rows or files in place; nothing removes them later.
        logger.exception("import.purge_failed task_id=%s", locked.task_id)
        ImportJob.objects.filter(pk=locked.pk).update(purged_at=None)
        return None

    logger.info(
        "import.purged task_id=%s status=%s finished_at=%s row_errors=%s staged_rows=%s "
        "file_removed=%s",
        locked.task_id, locked.status, locked.finished_at, row_errors, staged_rows,
        file_removed,
    )
    return _purged_import(locked, file_removed=file_removed, row_errors=row_errors,
                          staged_rows=staged_rows)


def import_staging_folders_remove(*, dry_run: bool = False) -> list[Path]:
    """Remove this host's staging folders of finished jobs; return the folders removed.

    A worker deletes a job's staging files when the job ends, so a folder of a finished
    job is one that a worker left behind when it died, or the empty folder that remains
    after a normal end. Each worker host keeps its folders under its own OPS_VAR_DIR, so
    this clears only the host that runs it. Folders of queued and running jobs, and
    folders whose name is no task id of this database, stay.
    """
    folders = _staging_folders_by_task_id()
    finished: set[uuid.UUID] = set()
    task_ids = list(folders)
    for start in range(0, len(task_ids), FOLDER_LOOKUP_BATCH):
        batch = task_ids[start:start + FOLDER_LOOKUP_BATCH]
        finished.update(
            ImportJob.objects.filter(task_id__in=batch, status__in=FINISHED_STATUSES)
            .values_list("task_id", flat=True)
        )

    removed = []
    for task_id in sorted(finished):
        folder = folders[task_id]
        if dry_run:
            removed.append(folder)
            continue
        # Under the row lock, a retry cannot queue the job between the check and the removal.
        with transaction.atomic():
            still_finished = (
                ImportJob.objects.select_for_update()
                .filter(task_id=task_id, status__in=FINISHED_STATUSES).exists()
            )
            if still_finished:
                _staging_folder_remove(folder)
        if still_finished:
            logger.info("import.staging_folder_removed task_id=%s path=%s", task_id, folder)
            removed.append(folder)
    return removed


def import_purged_error(*, job: ImportJob, subject: str) -> ImportRequestError:
    """Return the 409 error for a request that needs the purged job's "file" or "error report"."""
    purged_on = timezone.localdate(job.purged_at)
    when = f"on {purged_on.isoformat()}"
    if job.finished_at is not None:
        days = (purged_on - timezone.localdate(job.finished_at)).days
        when += f", {days} days after the import finished"
    if subject == "file":
        advice = "Upload it again as a new import."
    else:
        advice = (
            f"The job still counts {job.rows_bad:,} rejected rows. Import the file again as "
            "a new import to get a new report."
        )
    return ImportRequestError(
        f"The {subject} of import {job.task_id} was removed {when}, under the retention of "
        f"finished imports. {advice}",
        code=ImportErrorCode.IMPORT_PURGED,
    ).with_status(409)


def _rows_by_job(model: type[models.Model], jobs: models.QuerySet) -> dict[int, int]:
    rows = (
        model.objects.filter(job__in=jobs.values("pk")).values("job_id")
        .annotate(rows=Count("row_number"))
    )
    return {row["job_id"]: row["rows"] for row in rows}


def _job_rows_delete(job: ImportJob) -> None:
    # staging_clear deletes by the job column in short batches, which fits the error
    # rows as well as the staged rows.
    for model in (*STAGED_MODELS, ImportRowError):
        staging_clear(job=job, model=model)


def _upload_removable(job: ImportJob, *, also_purged: set[int] | None = None) -> bool:
    """Return whether the job's upload exists and no other job that is kept reads it.

    ``also_purged`` names jobs to count as purged already, for a dry run.
    """
    if not job.file.name or not job.file.storage.exists(job.file.name):
        return False
    return not _upload_shared(job, also_purged=also_purged)


def _upload_shared(job: ImportJob, *, also_purged: set[int] | None = None) -> bool:
    return (
        ImportJob.objects.filter(file=job.file.name, purged_at__isnull=True)
        .exclude(pk__in={job.pk, *(also_purged or ())})
        .exists()
    )


def _upload_remove(job: ImportJob) -> bool:
    """Delete the job's upload and its folder once empty; return whether the file was deleted."""
    if not job.file.name or _upload_shared(job):
        return False
    storage = job.file.storage
    path = Path(storage.path(job.file.name))
    removed = path.exists()
    if removed:
        storage.delete(job.file.name)
    # Only the upload's own folder under MEDIA_ROOT/imports/, and only when it is empty.
    if path.parent.parent == Path(storage.path("imports")):
        try:
            path.parent.rmdir()
        except OSError:
            pass
    return removed


def _staging_folder_remove(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)


def _staging_folders_by_task_id() -> dict[uuid.UUID, Path]:
    root = Path(settings.VAR_DIR) / "imports"
    if not root.is_dir():
        return {}
    folders = {}
    for entry in root.iterdir():
        try:
            task_id = uuid.UUID(entry.name)
        except ValueError:
            continue
        if entry.is_dir():
            folders[task_id] = entry
    return folders


def _purged_import(job: ImportJob, *, file_removed: bool, row_errors: int,
                   staged_rows: int) -> PurgedImport:
    return PurgedImport(
        task_id=job.task_id, status=job.status, finished_at=job.finished_at,
        file_name=job.file.name, file_removed=file_removed, row_errors=row_errors,
        staged_rows=staged_rows,
    )
