"""Celery tasks of the import pipeline; they run on the `imports` queue."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from imports.models import ImportJob

logger = logging.getLogger(__name__)

IMPORT_QUEUE = "imports"
RUN_JOB_TASK = "imports.run_job"
RESUME_STALE_TASK = "imports.resume_stale_jobs"
PURGE_TASK = "imports.purge_old_jobs"
CLEAR_STAGING_TASK = "imports.clear_staging"


def import_job_enqueue(*, job: ImportJob) -> None:
    """Queue the job's run once the caller's transaction commits."""
    job_id = job.pk
    transaction.on_commit(lambda: run_job.apply_async(args=[job_id], queue=IMPORT_QUEUE))


@shared_task(name=RUN_JOB_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int) -> None:
    from imports.pipeline.runner import import_job_run

    import_job_run(job_id=job_id, staging_clear_queued=True)


@shared_task(name=CLEAR_STAGING_TASK, ignore_result=True)
def clear_staging(job_id: int) -> None:
    """Delete the staged rows of a done job, queued behind the jobs that were waiting."""
    from imports.pipeline.runner import import_job_staging_clear

    import_job_staging_clear(job_id=job_id)


@shared_task(name=RESUME_STALE_TASK, ignore_result=True)
def resume_stale_jobs() -> int:
    """Queue again every stale job: running without heartbeats, or queued and never taken."""
    from imports.pipeline.runner import import_jobs_stale

    jobs = import_jobs_stale()
    for job in jobs:
        logger.warning("import.resumed_stale task_id=%s status=%s", job.task_id, job.status)
        run_job.apply_async(args=[job.pk], queue=IMPORT_QUEUE)
    return len(jobs)


@shared_task(name=PURGE_TASK, ignore_result=True)
def purge_old_jobs() -> int:
    """Clear the imports that finished more than IMPORT_RETENTION_DAYS ago; return how many."""
    from imports.retention import import_jobs_purge

    report = import_jobs_purge(older_than_days=settings.IMPORT_RETENTION_DAYS)
    return len(report.imports)
