"""Shared by the import commands: find the acting user, and follow a job to its end."""

import sys
import threading
import time

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, OutputWrapper

from imports.models import ImportJob

BAR_WIDTH = 30
POLL_SECONDS = 0.5


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


def job_follow(job: ImportJob, stdout: OutputWrapper, *, runner: threading.Thread | None = None) -> ImportJob:
    """Print the job's progress on one line until it finishes; return its final state."""
    interactive = sys.stdout.isatty()
    last_line = ""
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
        if job.is_finished and (runner is None or not runner.is_alive()):
            break
        time.sleep(POLL_SECONDS)
    if interactive:
        stdout.write("")
    return job


def job_outcome(job: ImportJob, stdout: OutputWrapper, style) -> None:
    """Print the job's result; raise CommandError unless it is done."""
    timings = ", ".join(f"{phase} {seconds:.2f}s" for phase, seconds in job.phase_timings.items())
    stdout.write(f"Import {job.task_id}: {job.get_status_display()}; rows {job.rows_total or 0:,}, "
                 f"imported {job.rows_ok:,}, rejected {job.rows_bad:,}. {timings}")
    ignored = job.summary.get("ignored_columns") or []
    if ignored:
        stdout.write(f"Ignored columns: {', '.join(ignored)}")
    for note in job.summary.get("notes") or []:
        stdout.write(f"Note: {note}")
    if job.rows_bad:
        stdout.write(f"Error report: /api/imports/{job.task_id}/errors.csv")
    if job.status != "done":
        raise CommandError(f"Import {job.task_id} {job.status}: {job.failure_reason or 'cancelled'}")
    stdout.write(style.SUCCESS("Import finished."))
