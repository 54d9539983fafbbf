"""Write the API's OpenAPI document to docs/openapi.json."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops_portal.openapi import OPENAPI_PATH, openapi_text


class Command(BaseCommand):
    help = (
        "Write the OpenAPI document of /api/ (ninja's operations and the streaming import "
        "endpoints) as JSON with sorted keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", type=Path, default=OPENAPI_PATH,
            help="The file to write (default: docs/openapi.json).",
        )
        parser.add_argument(
            "--check", action="store_true",
            help="Write nothing, and fail when the file differs from the current API.",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["output"]
        text = openapi_text()
        if options["check"]:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                raise CommandError(f"{path} is out of date with the API. Run `make openapi`.")
            self.stdout.write(f"{path} is up to date.")
            return
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Could not write {path}: {error.strerror}.") from error
        self.stdout.write(f"Wrote {path} ({len(text.encode('utf-8'))} bytes).")
