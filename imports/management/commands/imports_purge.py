"""Remove the files, staged rows and error reports of old finished imports."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from imports.retention import PurgedImport, import_jobs_purge


class Command(BaseCommand):
    help = (
        "Remove the uploaded files, staging folders, staged rows and error reports of imports "
        "that finished (done, failed or cancelled) more than --older-than days ago. The job "
        "rows stay. Also removes staging folders that a dead worker left on this host."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", type=int, default=settings.IMPORT_RETENTION_DAYS, metavar="DAYS",
            help="Purge imports that finished more than this many days ago "
                 f"(default: IMPORT_RETENTION_DAYS, now {settings.IMPORT_RETENTION_DAYS}).",
        )
        parser.add_argument("--dry-run", action="store_true",
                            help="List what would be removed, and remove nothing.")

    def handle(self, *args, **options) -> None:
        days = options["older_than"]
        if days < 1:
            raise CommandError(f"--older-than {days} is invalid; give a number of days of 1 or more.")

        report = import_jobs_purge(older_than_days=days, dry_run=options["dry_run"])

        verb = "Would purge" if report.dry_run else "Purged"
        for purged in report.imports:
            self.stdout.write(f"{verb} import {purged.task_id}: {_describe(purged)}")
        for folder in report.staging_folders:
            self.stdout.write(f"{'Would remove' if report.dry_run else 'Removed'} staging folder {folder}")
        cutoff = timezone.localtime(report.cutoff)
        summary = (
            f"{verb} {len(report.imports)} import(s) finished before {cutoff:%Y-%m-%d %H:%M}, "
            f"and {'would remove' if report.dry_run else 'removed'} "
            f"{len(report.staging_folders)} staging folder(s)."
        )
        if report.dry_run:
            summary += " Dry run: nothing was removed."
        self.stdout.write(summary)


def _describe(purged: PurgedImport) -> str:
    finished = timezone.localtime(purged.finished_at)
    if purged.file_removed:
        file_part = f"file {purged.file_name}"
    else:
        file_part = f"file {purged.file_name} kept (already gone, or a kept rerun reads it)"
    return (
        f"{purged.status}, finished {finished:%Y-%m-%d}; {file_part}, "
        f"{purged.row_errors:,} error rows, {purged.staged_rows:,} staged rows"
    )
