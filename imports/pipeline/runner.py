"""The import pipeline: parse, validate, load and finalize one job, reporting progress.

A job may run more than once: after a retry, or when its worker died and the job was
queued again. Parsing, validating and loading touch only the job's own staging rows and
error rows, which are cleared first, so they start over. Finalizing resumes after its
last committed checkpoint, and every live write is keyed by job and row, so a second
run never writes a row, a serial or a ledger entry twice.
"""

import datetime
import logging
import time
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from imports.errors import ImportErrorCode, ImportJobFailed
from imports.models import ImportJob, ImportRowError, ImportStatus, RUNNING_STATUSES
from imports.pipeline.heartbeat import JobHeartbeat
from imports.pipeline.kinds import handler_for_job
from imports.pipeline.progress import ProgressReporter
from imports.pipeline.second_validator import SecondValidator, ValidationTally
from imports.pipeline.staging import (
    BackgroundLoader,
    StagingWriter,
    staging_clear,
    staging_files,
    staging_load,
    staging_remove_files,
)
from imports.readers import ImportFileError, Table, open_table
from imports.tasks import IMPORT_QUEUE, clear_staging
from ops_portal.database_errors import connection_drop, database_error_transient

logger = logging.getLogger(__name__)

VALIDATE_CHUNK_ROWS = 5_000
# The share of a file's rows that the worker validates itself when a second process
# validates the rest. Reading a row the second process skips costs about a fifth of
# validating it.
FIRST_PROCESS_SHARE = 0.55
MAX_ATTEMPTS = 5
# A lost database connection (a restart, a failover, a killed session) is retried
# within the attempt: waits of 0.5, 1, 2, 4, 8 and 16 s, 31.5 s in all. That stays
# below the default IMPORT_STALE_AFTER_SECONDS of 60 s, after which the sweep would
# queue the job for another worker.
DATABASE_RETRIES = 6
DATABASE_RETRY_FIRST_WAIT_SECONDS = 0.5


class JobCancelled(Exception):
    pass


class JobTakenOver(Exception):
    """Another worker claimed the job while this one waited for the database."""


def import_jobs_stale() -> list[ImportJob]:
    """Return running jobs whose heartbeat stopped, and queued jobs no worker took in time.

    A job with a cancel request is included: when its worker died before it saw the
    request, only a new run ends the job as cancelled.
    """
    cutoff = timezone.now() - _stale_after()
    heartbeat_stopped = Q(heartbeat_at__lt=cutoff)
    # A queued job has no heartbeat until a worker claims it; retry clears it again.
    never_taken = Q(status=ImportStatus.QUEUED, heartbeat_at__isnull=True, updated_at__lt=cutoff)
    return list(
        ImportJob.objects.filter(status__in=RUNNING_STATUSES)
        .filter(heartbeat_stopped | never_taken)
        .order_by("pk")
    )


def _stale_after() -> datetime.timedelta:
    """Return how long a running job may go without a progress write before it counts as dead."""
    return datetime.timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS)


def import_job_run(*, job_id: int, staging_clear_queued: bool = False) -> None:
    """Run one job to its end: done, failed or cancelled.

    A done job's staged rows are deleted after the job is marked done, here or, with
    ``staging_clear_queued``, by a task queued behind the jobs already waiting. A worker
    then starts those jobs first: deleting the staged rows of a million-row count took
    12.7 to 18.5 s in the import benchmark on a 2-core machine.
    """
    job = _job_claim(job_id)
    if job is None:
        return
    reporter = ProgressReporter(job)
    heartbeat = JobHeartbeat.start_for(job)
    try:
        _phases_run_retrying(job, reporter)
    except JobCancelled:
        reporter.finish(ImportStatus.CANCELLED, summary=job.summary)
        logger.info("import.cancelled task_id=%s", job.task_id)
    except JobTakenOver:
        return
    except (ImportJobFailed, ImportFileError) as error:
        reporter.finish(
            ImportStatus.FAILED, failure_code=str(error.code), failure_reason=error.message,
            summary=job.summary,
        )
        logger.info("import.failed task_id=%s code=%s", job.task_id, error.code)
    except Exception:
        logger.exception("import.worker_fault task_id=%s attempt=%s", job.task_id, job.attempts)
        reporter.finish(
            ImportStatus.FAILED,
            failure_code=ImportErrorCode.WORKER_FAULT,
            failure_reason=(
                "The import stopped on an unexpected error in the worker. Nothing it had not "
                "finished was applied. Retry the import; if it fails again, give the task id "
                "to your administrator, who finds the cause in the worker log."
            ),
            summary=job.summary,
        )
    finally:
        heartbeat.stop()
        if job.is_finished:
            staging_remove_files(job=job)
    if job.status == ImportStatus.DONE:
        if not (staging_clear_queued and _staging_clear_queue(job)):
            _staging_clear_after_done(job)


def import_job_staging_clear(*, job_id: int) -> None:
    """Delete the staged rows of a done job. A job in any other state keeps them."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportStatus.DONE).first()
    if job is not None:
        _staging_clear_after_done(job)


def _job_claim(job_id: int) -> ImportJob | None:
    """Mark the job as taken by this worker, unless it is finished or another one runs it."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        fresh = job.heartbeat_at and timezone.now() - job.heartbeat_at < _stale_after()
        if fresh:
            logger.info("import.already_running task_id=%s", job.task_id)
            return None
        if job.attempts >= MAX_ATTEMPTS:
            job.status = ImportStatus.FAILED
            job.failure_code = ImportErrorCode.WORKER_FAULT
            job.failure_reason = (
                f"The import was started {job.attempts} times and never finished. "
                "Check the worker log for what stops it, then retry."
            )
            job.finished_at = timezone.now()
            job.save()
            transaction.on_commit(lambda: _job_given_up(job))
            return None
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["attempts", "started_at", "heartbeat_at", "updated_at"])
    logger.info("import.started task_id=%s attempt=%s", job.task_id, job.attempts)
    return job


def _job_given_up(job: ImportJob) -> None:
    """Publish the final state of a job failed by the attempts cap and delete its staging files."""
    from imports.events import import_event_send

    logger.warning("import.attempts_exhausted task_id=%s attempts=%s", job.task_id, job.attempts)
    import_event_send(job=job)
    staging_remove_files(job=job)


def _phases_run_retrying(job: ImportJob, reporter: ProgressReporter) -> None:
    """Run the phases, and run them again after a lost database connection.

    A new run resumes finalizing after the last committed checkpoint, which it reads
    from the job row, because a chunk whose transaction was lost may have moved the
    checkpoint in memory only. Earlier phases start over. When another worker claimed the
    job meanwhile (the attempts on the row changed), this run stops and leaves it alone.
    """
    for retry in range(DATABASE_RETRIES + 1):
        try:
            if retry and not _job_reload(job):
                logger.warning("import.taken_over task_id=%s", job.task_id)
                raise JobTakenOver
            _phases_run(job, reporter)
            return
        except (OperationalError, InterfaceError) as error:
            if retry == DATABASE_RETRIES or not database_error_transient(error):
                raise
            wait = DATABASE_RETRY_FIRST_WAIT_SECONDS * 2**retry
            logger.warning(
                "import.database_retry task_id=%s retry=%s wait_seconds=%s error=%s",
                job.task_id, retry + 1, wait, error,
            )
            connection_drop()
            time.sleep(wait)


def _job_reload(job: ImportJob) -> bool:
    """Read the job's committed progress again; return False when another run owns it."""
    row = ImportJob.objects.filter(pk=job.pk).values(
        "attempts", "status", "checkpoint", "rows_total", "rows_ok", "rows_bad", "summary",
        "file_format",
    ).first()
    if row is None or row["attempts"] != job.attempts or row["status"] not in RUNNING_STATUSES:
        return False
    for name in ("checkpoint", "rows_total", "rows_ok", "rows_bad", "summary", "file_format"):
        setattr(job, name, row[name])
    return True


def _cancel_check(job: ImportJob) -> None:
    if ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
        raise JobCancelled


def _phases_run(job: ImportJob, reporter: ProgressReporter) -> None:
    handler = handler_for_job(job)
    resuming = job.checkpoint.get("phase") == ImportStatus.FINALIZING

    if not resuming:
        table = _phase_parse(job, reporter, handler)
        _cancel_check(job)
        if job.is_dry_run:
            _dry_run_finish(job, reporter, handler, table)
            return
        loader = (
            BackgroundLoader(job=job, model=handler.staged_model)
            if BackgroundLoader.usable() else None
        )
        try:
            _phase_validate(job, reporter, handler, table, loader)
            _cancel_check(job)
            _phase_load(job, reporter, handler, loader)
        finally:
            table.close()
            if loader is not None:
                loader.close()
        _cancel_check(job)
        # The summary keeps what validation counted, for a run that resumes in finalizing.
        job.checkpoint = {"phase": ImportStatus.FINALIZING}
        job.summary = {**job.summary, **handler.summary()}
        ImportJob.objects.filter(pk=job.pk).update(checkpoint=job.checkpoint, summary=job.summary)

    total = handler.finalize_total()
    reporter.phase_start(ImportStatus.FINALIZING, total=total)
    handler.finalize(reporter=reporter, cancel_check=lambda: _cancel_check(job))
    job.summary = {**job.summary, **handler.counters, **handler.finalize_counts()}
    reporter.finish(ImportStatus.DONE, summary=job.summary)
    logger.info(
        "import.done task_id=%s rows_ok=%s rows_bad=%s", job.task_id, job.rows_ok, job.rows_bad
    )


def _dry_run_finish(job: ImportJob, reporter: ProgressReporter, handler, table: Table) -> None:
    """Validate every row and end the job done, without loading or changing any data.

    The rows are validated in this process alone, because the second validating process
    hands its staging files to a loader. The staging files written meanwhile are removed
    when the job ends, as for any finished job.
    """
    try:
        _phase_validate(job, reporter, handler, table, None)
    finally:
        table.close()
    job.summary = {**job.summary, **handler.summary()}
    reporter.finish(ImportStatus.DONE, summary=job.summary)
    logger.info(
        "import.dry_run_done task_id=%s rows_ok=%s rows_bad=%s",
        job.task_id, job.rows_ok, job.rows_bad,
    )


def _upload_path(job: ImportJob) -> Path:
    """Return the path of the job's stored upload; fail the job when the file is gone."""
    path = Path(job.file.path)
    if not path.is_file():
        raise ImportJobFailed(
            f"The uploaded file {job.original_name} is no longer stored at {path}; "
            "upload it again as a new import.",
            code=ImportErrorCode.FILE_MISSING,
        )
    return path


def _staging_clear_queue(job: ImportJob) -> bool:
    """Queue the deletion of a done job's staged rows, and return False when the broker failed."""
    try:
        clear_staging.apply_async(args=[job.pk], queue=IMPORT_QUEUE)
    except KombuOperationalError:
        logger.exception("import.staging_clear_queue_failed task_id=%s", job.task_id)
        return False
    return True


def _staging_clear_after_done(job: ImportJob) -> None:
    """Delete the staged rows of a done job, which nothing reads any more.

    This runs after the job is marked done, because deleting 100,000 staged rows takes
    about a second that the user need not wait for. A failure leaves the rows behind
    without changing the outcome, so it is logged instead of failing the job.
    """
    try:
        staging_clear(job=job, model=handler_for_job(job).staged_model)
    except DatabaseError:
        logger.exception("import.staging_clear_failed task_id=%s", job.task_id)


def _phase_parse(job: ImportJob, reporter: ProgressReporter, handler) -> Table:
    """Open the file, match its header, count its rows and decide its formats; return the table.

    Opening counts as parsing, because an XLSX sheet is scanned and loaded when it is
    opened: 0.6 s of a 100,000-row sheet.
    """
    reporter.phase_start(ImportStatus.PARSING, total=0)
    table = open_table(_upload_path(job), sheet=job.options.get("sheet"))
    handler.columns_bind(table)
    if job.options.get("sheet") and table.format != "xlsx":
        handler.notes.append(
            f"The sheet option {job.options['sheet']!r} applies to XLSX files only. This "
            f"{table.format.upper()} file has no sheets and was read as it is."
        )
    count = 0
    for raw_row in table.rows_iter():
        handler.observe(raw_row)
        count += 1
        if count % VALIDATE_CHUNK_ROWS == 0:
            reporter.advance(count)
    handler.rows_observed()
    handler.formats_decide()
    job.rows_total = count
    job.file_format = table.format
    job.summary = {**job.summary, **handler.summary()}
    ImportJob.objects.filter(pk=job.pk).update(
        file_format=job.file_format, summary=job.summary, rows_total=count
    )
    reporter.advance(count, force=True)
    return table


def _phase_validate(
    job: ImportJob, reporter: ProgressReporter, handler, table, loader: BackgroundLoader | None
) -> None:
    reporter.phase_start(ImportStatus.VALIDATING, total=job.rows_total or 0)
    ImportRowError.objects.filter(job=job).delete()
    job.rows_ok = job.rows_bad = 0
    # With a loader, each staging file starts loading as soon as it is written.
    writer = StagingWriter(job, on_file_done=loader.submit if loader is not None else None)
    rows = table.rows_iter()
    split_at = _validation_split_at(job, handler, loader)
    second = None
    if split_at is not None:
        second = SecondValidator.start(
            lambda report: _later_rows_validate(job, handler, table, split_at, report)
        )
        rows = islice(rows, split_at)
    try:
        own = ValidationTally()

        def progress() -> None:
            if second is not None:
                second.poll(on_file=loader.submit)
            theirs = second.tally if second is not None else ValidationTally()
            job.rows_ok = own.rows_ok + theirs.rows_ok
            job.rows_bad = own.rows_bad + theirs.rows_bad
            reporter.advance(own.rows_done + theirs.rows_done)
            _cancel_check(job)

        _rows_validate(job, handler, rows, writer, own, on_chunk=progress)
        writer.close()
        if second is not None:
            # The second process links the stores of its rows to the job itself.
            second.wait(on_file=loader.submit, on_progress=progress)
            progress()
    finally:
        if second is not None:
            second.stop()
    reporter.advance(job.rows_total or 0, force=True)


def _validation_split_at(job: ImportJob, handler, loader: BackgroundLoader | None) -> int | None:
    """Return the row from which a second process validates the file, or None for one process.

    Only with a loader, which means MySQL or MariaDB outside a transaction, because the
    second process writes on its own connection. The split leaves the first process a
    little more than half of the rows, because the second one reads past the others.
    """
    total = job.rows_total or 0
    if (
        loader is None
        or not handler.splits_validation
        or settings.IMPORT_VALIDATION_PROCESSES < 2
        or total < settings.IMPORT_VALIDATION_SPLIT_MIN_ROWS
        or not SecondValidator.usable()
    ):
        return None
    return int(total * FIRST_PROCESS_SHARE)


def _later_rows_validate(
    job: ImportJob, handler, table: Table, split_at: int, report
) -> ValidationTally:
    """Validate the rows from ``split_at`` on, in the second process; return its tally."""
    writer = StagingWriter(job, part=2, on_file_done=lambda path: report(("file", path)))
    tally = ValidationTally()
    rows = islice(table.rows_iter(), split_at, None)
    _rows_validate(job, handler, rows, writer, tally, on_chunk=lambda: report(("tally", tally)))
    writer.close()
    return tally


def _rows_validate(job: ImportJob, handler, rows, writer: StagingWriter, tally: ValidationTally,
                   *, on_chunk) -> None:
    """Validate the rows chunk by chunk: stage the good ones, record the bad ones."""
    while chunk := list(islice(rows, VALIDATE_CHUNK_ROWS)):
        result = handler.validate_chunk(chunk)
        writer.write(result.staged)
        if result.errors:
            ImportRowError.objects.bulk_create(result.errors, ignore_conflicts=True)
        # Each store is linked to the job once, because linking every chunk's stores
        # again cost a SELECT and an INSERT per chunk.
        _stores_link(job, result.store_ids - tally.store_ids)
        tally.store_ids |= result.store_ids
        tally.rows_ok += result.rows_ok
        tally.rows_bad += result.rows_bad
        tally.rows_done += len(chunk)
        on_chunk()


def _stores_link(job: ImportJob, store_ids: set[int]) -> None:
    if store_ids:
        job.stores.add(*store_ids)
        job.__dict__.pop("_store_ids", None)


def _phase_load(
    job: ImportJob, reporter: ProgressReporter, handler, loader: BackgroundLoader | None
) -> None:
    already_loaded = loader.rows_loaded() if loader is not None else 0
    # A file still loading when validation ends began earlier: its rows per second count
    # from then, or a 50,000-row file that ends just after the phase starts would show
    # over a million rows per second.
    reporter.phase_start(ImportStatus.LOADING, total=job.rows_ok, done=already_loaded,
                         work_started=loader.loading_since if loader is not None else None)
    if loader is not None:
        # The files loaded during validation count from the phase's start; the rest as
        # they finish.
        loader.wait(on_progress=lambda loaded: reporter.advance(loaded, force=True))
        return
    staging_load(
        job=job, model=handler.staged_model, files=staging_files(job),
        on_progress=lambda loaded: reporter.advance(loaded, force=True),
    )
