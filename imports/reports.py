"""The error report of an import: a CSV line per problem, then the row's original cells.

UTF-8 with a byte order mark so that spreadsheet programs detect the encoding, and every
cell that a spreadsheet would run as a formula is neutralised. The API streams it, and
the import commands write it to a file.
"""

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from imports.csv_safety import csv_safe_cell
from imports.models import ImportJob, ImportRowError

REPORT_BATCH_ROWS = 2_000
REPORT_COLUMNS = ["row_number", "column", "value", "error_code", "message"]


def error_report_head(job: ImportJob) -> str:
    """Return the byte order mark and the header line: the report's columns, then the file's."""
    return "\ufeff" + csv_line(REPORT_COLUMNS + list(job.summary.get("header") or []))


def error_report_batch(job_id: int, after_id: int) -> tuple[str, int] | None:
    """Return the lines of the next problems after ``after_id`` and the last one's id, or None."""
    batch = list(
        ImportRowError.objects.filter(job_id=job_id, id__gt=after_id).order_by("id")[:REPORT_BATCH_ROWS]
    )
    if not batch:
        return None
    text = "".join(
        csv_line([error.row_number, error.column, error.value, error.code, error.message, *error.cells])
        for error in batch
    )
    return text, batch[-1].pk


def error_report_lines(job: ImportJob) -> Iterator[str]:
    """Yield the whole report in pieces, reading the problems in batches."""
    yield error_report_head(job)
    after_id = 0
    while found := error_report_batch(job.pk, after_id):
        text, after_id = found
        yield text


def error_report_write(job: ImportJob, path: Path) -> int:
    """Write the job's report to ``path``; return the number of problems written."""
    with path.open("w", encoding="utf-8", newline="") as out:
        for text in error_report_lines(job):
            out.write(text)
    return ImportRowError.objects.filter(job=job).count()


def csv_line(cells: list) -> str:
    """Return one CSV line of the cells, each neutralised for spreadsheets, ending in CRLF."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_safe_cell(cell) for cell in cells])
    return buffer.getvalue()
