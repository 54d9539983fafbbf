"""Cancel a queued or running import, as the API's cancel and the admin action do."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.management.commands._progress import user_resolve
from imports.management.commands.rerun_import import job_find
from imports.models import ImportStatus
from imports.services import import_job_cancel
from ops_portal.errors import DomainError


class Command(BaseCommand):
    help = (
        "Cancel an import by its task id (or numeric id). A queued import ends at once, a "
        "running one at its next chunk boundary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", help="Task id (UUID) or numeric id of the import.")
        parser.add_argument("--user", help="Username the cancel is logged for (default: the first superuser).")

    def handle(self, *args, **options) -> None:
        job = job_find(options["job"])
        user = user_resolve(options["user"])
        try:
            job = import_job_cancel(actor=user, job=job)
        except DomainError as error:
            raise CommandError(error.message) from None

        if job.status == ImportStatus.CANCELLED:
            self.stdout.write(self.style.SUCCESS(f"Import {job.task_id} cancelled."))
            return
        self.stdout.write(
            f"Cancel of import {job.task_id} requested. It is {job.get_status_display().lower()} "
            "and stops at its next chunk boundary; chunks finalized before then stay applied. "
            f"`manage.py import_status {job.task_id}` shows when it has stopped."
        )
