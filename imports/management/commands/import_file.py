"""Import a file from disk, printing its progress; exit non-zero unless it imported rows."""

import threading
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from imports.management.commands._progress import (
    column_map_parse,
    error_report_argument_add,
    job_follow,
    job_outcome,
    user_resolve,
    worker_arguments_add,
    worker_timeout_get,
)
from imports.models import ImportKind
from imports.pipeline.runner import import_job_run
from imports.services import import_job_start
from ops_portal.errors import DomainError


class Command(BaseCommand):
    help = "Import a products, pricelist, stock or sales file and show its progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV, TSV or XLSX file to import.")
        parser.add_argument("--kind", required=True, choices=ImportKind.values, help="What the file contains.")
        parser.add_argument("--user", help="Username the import runs as (default: the first superuser).")
        parser.add_argument("--default-store", help="Store code for stock and sales rows that name no store.")
        parser.add_argument("--sheet", help="XLSX sheet to read (default: the first).")
        parser.add_argument("--price-list", help="Price list name for pricelist files without a price_list column.")
        parser.add_argument("--source", help="Source label of the prices, for pricelist files.")
        parser.add_argument("--priority", type=int,
                            help="Priority of the price lists the file creates; existing lists keep theirs.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every row and write the error report, but change no data.")
        parser.add_argument("--column-map", default="{}",
                            help='JSON object of field name to column header, such as \'{"sku": "Item"}\'.')
        worker_arguments_add(parser)
        error_report_argument_add(parser)

    def handle(self, *args, **options) -> None:
        path = Path(options["path"])
        if path.is_dir():
            raise CommandError(f"{path} is a folder. Give the path of a CSV, TSV or XLSX file in it.")
        if not path.is_file():
            raise CommandError(f"File {path} was not found. Check the path.")
        job_options = {
            "column_map": column_map_parse(options["column_map"]),
            "default_store": options["default_store"],
            "sheet": options["sheet"],
            "price_list": options["price_list"],
            "source": options["source"],
            "priority": options["priority"],
            "dry_run": options["dry_run"],
        }
        user = user_resolve(options["user"])
        worker_timeout = worker_timeout_get(options)

        try:
            with path.open("rb") as handle:
                started = import_job_start(
                    actor=user, kind=options["kind"], upload=File(handle, name=path.name),
                    options={key: value for key, value in job_options.items() if value not in (None, "", {})},
                    dispatch=options["worker"],
                )
        except DomainError as error:
            raise CommandError(error.message) from None
        job = started.job
        self.stdout.write(f"Import {job.task_id} of {path.name} ({options['kind']}) queued.")

        runner = None
        if not options["worker"]:
            runner = threading.Thread(target=_run, args=(job.pk,), daemon=True)
            runner.start()
        job = job_follow(job, self.stdout, runner=runner, worker_timeout=worker_timeout)
        job_outcome(job, self.stdout, self.style, report_path=options["error_report"])


def _run(job_id: int) -> None:
    try:
        import_job_run(job_id=job_id)
    finally:
        close_old_connections()
