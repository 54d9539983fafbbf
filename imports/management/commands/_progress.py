"""Shared by the import commands: find the acting user, and follow a job to its end."""

import json
import sys
import threading
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser, OutputWrapper
from django.urls import reverse

from imports.models import ImportJob, ImportStatus
from imports.reports import error_report_write

BAR_WIDTH = 30
POLL_SECONDS = 0.5
# How long a command waits by default for a worker to take a queued job, in seconds.
WORKER_TIMEOUT_SECONDS = 60.0
# The command that starts a worker on the queues imports use, as the runbook gives it.
WORKER_START_COMMAND = "celery -A ops_portal worker -Q imports,default"


def user_resolve(username: str | None):
    """Return the named active user, or the first active superuser when none is named."""
    users = get_user_model().objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"User {username!r} was not found or is inactive. Pass --user with an active username.")
        return user
    user = users.filter(is_superuser=True).order_by("pk").first()
    if user is None:
        raise CommandError("No superuser exists to run the import as. Pass --user USERNAME.")
    return user


def column_map_parse(text: str) -> object:
    """Return the value of a --column-map argument; raise CommandError when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f"--column-map is not valid JSON: {error.msg}.") from None


def error_report_argument_add(parser: CommandParser) -> None:
    """Add --error-report, which import_file, rerun_import and import_status share."""
    parser.add_argument(
        "--error-report", type=Path, metavar="PATH",
        help="Write the error report (CSV, UTF-8) of rejected rows to this file.",
    )


def error_report_save(job: ImportJob, path: Path | None, stdout: OutputWrapper) -> None:
    """Write the job's error report to ``path`` when it has rejected rows, and print where."""
    if path is None:
        return
    if not job.rows_bad:
        stdout.write(f"No rejected rows, so {path} was not written.")
        return
    if job.purged_at is not None:
        raise CommandError(
            f"The error report of import {job.task_id} was removed with its file on "
            f"{job.purged_at:%Y-%m-%d} (retention), so {path} was not written."
        )
    try:
        problems = error_report_write(job, path)
    except OSError as error:
        raise CommandError(f"The error report could not be written to {path}: {error.strerror}.") from None
    stdout.write(f"Error report: {problems:,} problems of {job.rows_bad:,} rows written to {path}")


def worker_arguments_add(parser: CommandParser) -> None:
    """Add --worker and --worker-timeout, which import_file and rerun_import share."""
    parser.add_argument("--worker", action="store_true",
                        help="Queue the job for a Celery worker instead of running it in this process.")
    parser.add_argument(
        "--worker-timeout", type=float, default=WORKER_TIMEOUT_SECONDS, metavar="SECONDS",
        help="With --worker: seconds to wait for a worker to take the job before the command "
             f"gives up and exits 1; the job stays queued (default {WORKER_TIMEOUT_SECONDS:g}).",
    )


def worker_timeout_get(options: dict) -> float | None:
    """Return the seconds to wait for a worker, or None when the job runs in this process."""
    if not options["worker"]:
        return None
    seconds = options["worker_timeout"]
    if not seconds > 0:
        raise CommandError(f"--worker-timeout {seconds:g} is invalid; give a number of seconds above 0.")
    return seconds


def progress_line(job: ImportJob) -> str:
    filled = int(BAR_WIDTH * job.pct / 100)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    rate = f"{job.throughput_rps:,.0f} rows/s" if job.throughput_rps else "- rows/s"
    eta = f"ETA {job.eta_seconds}s" if job.eta_seconds is not None else "ETA -"
    total = f"{job.rows_total:,}" if job.rows_total is not None else "?"
    return (
        f"[{bar}] {job.pct:5.1f}%  {job.get_status_display():<10}  {rate:>14}  {eta:<9}  "
        f"rows {total}  bad {job.rows_bad:,}"
    )


def job_follow(
    job: ImportJob,
    stdout: OutputWrapper,
    *,
    runner: threading.Thread | None = None,
    worker_timeout: float | None = None,
) -> ImportJob:
    """Print the job's progress on one line until it finishes; return its final state.

    ``runner`` is the thread that runs the job in this process. Without one, the job
    waits for a Celery worker, and ``worker_timeout`` is how many seconds it may stay
    queued without a worker taking it. Raises CommandError when no worker took the job
    in time, or when the runner stopped without finishing the job.
    """
    interactive = sys.stdout.isatty()
    last_line = ""
    started = time.monotonic()
    while True:
        job.refresh_from_db()
        line = progress_line(job)
        if line != last_line:
            if interactive:
                stdout.write("\r" + line, ending="")
                stdout.flush()
            else:
                stdout.write(line)
            last_line = line
        if runner is not None and not runner.is_alive():
            # The runner may have finished the job after the read above.
            job.refresh_from_db()
            if job.is_finished:
                break
            _line_end(stdout, interactive)
            raise CommandError(
                f"Import {job.task_id} stopped while {job.status}, without finishing. The log "
                f"above shows why; `manage.py import_status {job.task_id}` shows its state."
            )
        if runner is None and job.is_finished:
            break
        waited = time.monotonic() - started
        if worker_timeout is not None and _waiting_for_worker(job) and waited >= worker_timeout:
            _line_end(stdout, interactive)
            raise CommandError(_no_worker_message(job, worker_timeout))
        time.sleep(POLL_SECONDS)
    _line_end(stdout, interactive)
    return job


def _line_end(stdout: OutputWrapper, interactive: bool) -> None:
    if interactive:
        stdout.write("")


def _waiting_for_worker(job: ImportJob) -> bool:
    # A worker that claims a job writes its first heartbeat before the job leaves queued.
    return job.status == ImportStatus.QUEUED and job.heartbeat_at is None


def _no_worker_message(job: ImportJob, waited_seconds: float) -> str:
    return (
        f"No worker took import {job.task_id} within {waited_seconds:g} s. Start one with "
        f"`{WORKER_START_COMMAND}` (or `manage.py run_portal` on a single machine), with the "
        f"same REDIS_URL as this command. The import stays queued as task {job.task_id}: a "
        f"worker that starts later runs it, and `manage.py cancel_import {job.task_id}` "
        "cancels it."
    )


def job_outcome(job: ImportJob, stdout: OutputWrapper, style, *, report_path: Path | None = None) -> None:
    """Print the job's result, and write its error report to ``report_path`` when given.

    Raises CommandError, so that the command exits 1, when the job failed, was cancelled
    or rejected every row. The error is then the last line printed.
    """
    timings = ", ".join(f"{phase} {seconds:.2f}s" for phase, seconds in job.phase_timings.items())
    total = f"{job.rows_total:,}" if job.rows_total is not None else "-"
    # Only a done job has applied its valid rows, and a dry run applies none.
    applied = "imported" if job.status == ImportStatus.DONE and not job.is_dry_run else "valid"
    stdout.write(f"Import {job.task_id}: {job.get_status_display()}; rows {total}, "
                 f"{applied} {job.rows_ok:,}, rejected {job.rows_bad:,}. {timings}".rstrip())
    ignored = job.summary.get("ignored_columns") or []
    if ignored:
        stdout.write(f"Ignored columns: {', '.join(ignored)}")
    for note in job.summary.get("notes") or []:
        stdout.write(f"Note: {note}")
    report_url = reverse("imports:job-errors", kwargs={"task_id": job.task_id}) if job.rows_bad else ""
    if report_path is not None:
        error_report_save(job, report_path, stdout)
    elif report_url:
        stdout.write(
            f"Error report: {report_url} in the portal, or "
            f"`manage.py import_status {job.pk} --error-report FILE`"
        )
    report_hint = f" The error report {report_url} lists the rejected rows." if report_url else ""

    if job.status == ImportStatus.FAILED:
        raise CommandError(
            f"Import {job.task_id} failed ({job.failure_code}): {job.failure_reason}{report_hint}"
        )
    if job.status == ImportStatus.CANCELLED:
        raise CommandError(_cancelled_message(job) + report_hint)
    if job.rows_ok == 0 and job.rows_bad:
        raise CommandError(
            f"Import {job.task_id} changed nothing: all {job.rows_bad:,} rows were rejected. "
            f"The error report {report_url} lists each problem; fix the file and import it again."
        )
    if job.is_dry_run:
        stdout.write(style.SUCCESS(
            f"Dry run finished: nothing changed. `manage.py rerun_import {job.pk} --import` "
            "imports the file."
        ))
        return
    stdout.write(style.SUCCESS("Import finished."))


def _cancelled_message(job: ImportJob) -> str:
    if job.checkpoint.get("phase") == ImportStatus.FINALIZING:
        return (
            f"Import {job.task_id} was cancelled while finalizing. The chunks finalized before "
            f"the cancel stay applied; `manage.py rerun_import {job.task_id}` applies the rest."
        )
    return (
        f"Import {job.task_id} was cancelled before it changed any data. "
        f"`manage.py rerun_import {job.task_id}` runs it again."
    )
