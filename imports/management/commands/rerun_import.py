"""Run an import again: a failed or cancelled one resumes, a finished one starts anew.

With --column-map the file is always imported anew, read with that column map, which
is how a file that failed on its columns is imported after all. With --import a dry
run's file is imported for real.
"""

import threading
import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.management.commands._progress import (
    column_map_parse,
    error_report_argument_add,
    job_follow,
    job_outcome,
    user_resolve,
    worker_arguments_add,
    worker_timeout_get,
)
from imports.management.commands.import_file import _run
from imports.models import ImportJob, ImportStatus
from imports.services import import_job_rerun, import_job_retry
from ops_portal.errors import DomainError


class Command(BaseCommand):
    help = "Run an import again by its task id (or numeric id) and show its progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", help="Task id (UUID) or numeric id of the import.")
        parser.add_argument("--user", help="Username the rerun runs as (default: the first superuser).")
        parser.add_argument(
            "--column-map",
            help='JSON object of field name to column header, such as \'{"sku": "Item"}\'; '
                 "imports the file anew with it, also after a failure.",
        )
        parser.add_argument(
            "--import", dest="import_for_real", action="store_true",
            help="Import a dry run's file for real, as a new import.",
        )
        worker_arguments_add(parser)
        error_report_argument_add(parser)

    def handle(self, *args, **options) -> None:
        column_map = None
        if options["column_map"] is not None:
            column_map = column_map_parse(options["column_map"])
        job = job_find(options["job"])
        user = user_resolve(options["user"])
        worker_timeout = worker_timeout_get(options)
        dry_run = False if options["import_for_real"] else None
        try:
            if column_map is not None or dry_run is not None:
                job = import_job_rerun(
                    actor=user, job=job, column_map=column_map, dry_run=dry_run,
                    dispatch=options["worker"],
                )
            elif job.status in (ImportStatus.FAILED, ImportStatus.CANCELLED):
                job = import_job_retry(actor=user, job=job, dispatch=options["worker"])
            else:
                job = import_job_rerun(actor=user, job=job, dispatch=options["worker"])
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Import {job.task_id} queued.")
        runner = None
        if not options["worker"]:
            runner = threading.Thread(target=_run, args=(job.pk,), daemon=True)
            runner.start()
        job = job_follow(job, self.stdout, runner=runner, worker_timeout=worker_timeout)
        job_outcome(job, self.stdout, self.style, report_path=options["error_report"])


def job_find(identifier: str) -> ImportJob:
    """Return the import with this numeric id or task id; raise CommandError when there is none."""
    identifier = identifier.strip()
    try:
        lookup = {"pk": int(identifier)} if identifier.isdigit() else {"task_id": uuid.UUID(identifier)}
        return ImportJob.objects.get(**lookup)
    except (ImportJob.DoesNotExist, ValueError):
        raise CommandError(
            f"Import {identifier} was not found. `manage.py import_status` lists the imports."
        ) from None
