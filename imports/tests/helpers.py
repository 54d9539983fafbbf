"""Builders shared by the pipeline tests: the catalog a file names, and an inline import run."""

import csv
import io
from pathlib import Path

import openpyxl
from django.core.files import File

from imports.models import ImportJob
from imports.pipeline.runner import import_job_run
from imports.services import import_job_start
from inventory.models import Product, Store

CASES_DIR = Path(__file__).resolve().parent / "fixtures" / "cases"

STORE_HEADERS = {"store_code", "store"}
SKU_HEADERS = {"sku", "stockcode"}
SERIAL_HEADERS = {"serial", "imei"}


def _records(path: Path) -> list[dict]:
    """Read a fixture with the standard library only, independent of the portal's readers."""
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [row for row in sheet.iter_rows(max_row=200, max_col=20, values_only=True)]
        header = [str(cell).strip().lower() if cell is not None else "" for cell in rows[0]]
        return [dict(zip(header, row, strict=False)) for row in rows[1:] if any(row)]
    text = path.read_bytes().replace(b"\x00", b"").decode("utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader)]
    return [dict(zip(header, row, strict=False)) for row in reader]


def catalog_for(path: Path) -> None:
    """Create every store and SKU the file names; a SKU listed with a serial is serialized."""
    for record in _records(path):
        for name in STORE_HEADERS & record.keys():
            if record[name]:
                Store.objects.get_or_create(code=str(record[name]).strip(),
                                            defaults={"name": f"Store {record[name]}"})
        has_serial = any(record.get(name) not in (None, "") for name in SERIAL_HEADERS)
        for name in SKU_HEADERS & record.keys():
            sku = str(record[name] or "").strip().replace("\x00", "")
            if sku and not sku.startswith("@"):
                product, _ = Product.objects.get_or_create(
                    sku=sku, defaults={"name": f"Product {sku}", "is_serialized": has_serial}
                )
                if has_serial and not product.is_serialized:
                    Product.objects.filter(pk=product.pk).update(is_serialized=True)


def import_run(path: Path, *, kind: str, user, **options) -> ImportJob:
    """Start an import of the file and run it in this process to its end."""
    with path.open("rb") as handle:
        started = import_job_start(
            actor=user, kind=kind, upload=File(handle, name=path.name), options=options,
            dispatch=False,
        )
    import_job_run(job_id=started.job.pk)
    started.job.refresh_from_db()
    return started.job


def error_rows(job: ImportJob) -> dict[int, list[str]]:
    """Return the codes of the job's problems by row number."""
    rows: dict[int, list[str]] = {}
    for error in job.row_errors.order_by("row_number", "id"):
        rows.setdefault(error.row_number, []).append(error.code)
    return rows
