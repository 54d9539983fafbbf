"""List recent imports, or show one in detail."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.management.commands._progress import (
    error_report_argument_add,
    error_report_save,
    progress_line,
)
from imports.management.commands.rerun_import import job_find
from imports.models import ImportJob


class Command(BaseCommand):
    help = "List the most recent imports, or show one import's state by its task id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", nargs="?", help="Task id or numeric id of one import.")
        parser.add_argument("--limit", type=int, default=20, help="How many imports to list (default 20).")
        error_report_argument_add(parser)

    def handle(self, *args, **options) -> None:
        if options["limit"] < 1:
            raise CommandError(f"--limit must be 1 or more, not {options['limit']}.")
        if options["job"]:
            job = job_find(options["job"])
            self._detail(job)
            error_report_save(job, options["error_report"], self.stdout)
            return
        if options["error_report"]:
            raise CommandError("--error-report needs the import: import_status ID --error-report FILE.")
        jobs = ImportJob.objects.select_related("created_by").order_by("-created_at")[: options["limit"]]
        self.stdout.write(f"{'id':>5}  {'task id':36}  {'kind':9}  {'status':10}  {'%':>6}  {'rows':>9}  {'bad':>7}  file")
        for job in jobs:
            total = f"{job.rows_total:,}" if job.rows_total is not None else "-"
            self.stdout.write(
                f"{job.pk:>5}  {job.task_id!s:36}  {job.kind:9}  {job.status:10}  {job.pct:6.1f}  "
                f"{total:>9}  {job.rows_bad:>7,}  {job.original_name}"
            )

    def _detail(self, job: ImportJob) -> None:
        self.stdout.write(f"Import {job.task_id} (id {job.pk}): {job.get_kind_display()} from {job.original_name}")
        self.stdout.write(f"  by {job.created_by.get_username()} at {job.created_at:%Y-%m-%d %H:%M:%S}, attempts {job.attempts}")
        self.stdout.write("  " + progress_line(job))
        for phase, seconds in job.phase_timings.items():
            self.stdout.write(f"  {phase:<11} {seconds:8.2f} s")
        if job.failure_reason:
            self.stdout.write(f"  failed ({job.failure_code}): {job.failure_reason}")
        if job.purged_at:
            self.stdout.write(f"  file and error report removed at {job.purged_at:%Y-%m-%d %H:%M:%S} (retention)")
        for key, value in sorted(job.summary.items()):
            if key != "header":
                self.stdout.write(f"  {key}: {value}")
