"""Hostile uploads through POST /api/imports, and HTML or formulas in imported text.

Uploads are sent as raw multipart bodies, because Django's test client strips path
parts from a file name before sending it, and a browser or script need not.
"""

import asyncio
import csv
import io
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.pipeline.runner import import_job_run
from inventory.models import StockLevel, StockMovement, Transfer
from inventory.services import TransferLineIn, transfer_create
from inventory.tests.factories import (
    ProductFactory,
    StoreFactory,
    back_office_user,
    operations_user,
    stocked_product,
)

pytestmark = pytest.mark.django_db

BOUNDARY = "hostile-upload-boundary"
STOCK_CSV = b"store,sku,qty\nS001,ACC-1,5\n"
MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def catalog():
    store = StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    return store


def _multipart(filename: bytes, content: bytes, *, kind: str = "stock") -> bytes:
    return b"".join([
        f"--{BOUNDARY}\r\n".encode(),
        b'Content-Disposition: form-data; name="kind"\r\n\r\n', kind.encode(), b"\r\n",
        f"--{BOUNDARY}\r\n".encode(),
        b'Content-Disposition: form-data; name="file"; filename="', filename, b'"\r\n',
        b"Content-Type: application/octet-stream\r\n\r\n", content, b"\r\n",
        f"--{BOUNDARY}--\r\n".encode(),
    ])


def _upload(client, filename: bytes | str, content: bytes = STOCK_CSV, *, kind: str = "stock"):
    if isinstance(filename, str):
        filename = filename.encode("utf-8")
    return client.post(
        "/api/imports", data=_multipart(filename, content, kind=kind),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def _stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def _stream_text(response) -> str:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return asyncio.run(collect()).decode("utf-8")


# File names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent_name", "expected_name"),
    [
        ("../../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\Windows\\count.csv", "count.csv"),
        ("/var/lib/portal/absolute.csv", "absolute.csv"),
        ("C:\\Users\\ops\\Desktop\\count.csv", "count.csv"),
        ("stock\x00count\x1b[2J.csv", "stockcount_2J.csv"),
        ("stock\tcount\x7f.csv", "stockcount.csv"),
        ("<img src=x onerror=alert(1)>.csv", "_img src_x onerror_alert_1_.csv"),
        ("\u202ecount\u202c.csv", "count.csv"),
        ("Lagerbestand März.csv", "Lagerbestand März.csv"),
    ],
)
def test_upload_name_is_cleaned_and_kept(client, catalog, media_root, sent_name, expected_name):
    client.force_login(operations_user())

    response = _upload(client, sent_name)

    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert job.original_name == expected_name
    stored = Path(job.file.path).resolve()
    assert stored.is_relative_to((media_root / "imports" / str(job.task_id)).resolve())
    assert stored.name == default_storage.get_valid_name(expected_name)
    assert stored.read_bytes() == STOCK_CSV
    detail = client.get(f"/api/imports/{job.task_id}").json()
    assert detail["file_name"] == expected_name


@pytest.mark.parametrize(
    "sent_name",
    ["a" * 300 + ".csv", "日本語の在庫" * 17 + ".csv", "Ünïcödé" * 40 + ".csv"],
)
def test_very_long_upload_name_is_shortened(client, catalog, media_root, sent_name):
    client.force_login(operations_user())

    response = _upload(client, sent_name)

    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert job.original_name.endswith(".csv")
    assert job.original_name[:5] == sent_name[:5]
    # Linux file systems take names of at most 255 bytes.
    assert len(job.original_name.encode("utf-8")) <= 255
    assert Path(job.file.path).resolve().is_relative_to(media_root.resolve())
    assert Path(job.file.path).read_bytes() == STOCK_CSV


def test_name_without_characters_gets_default(client, catalog, media_root):
    client.force_login(operations_user())

    response = _upload(client, "<<>>.csv")

    assert response.status_code == 202
    assert ImportJob.objects.get().original_name == "_.csv"


@pytest.mark.parametrize("sent_name", ["..", ".", "\x00\x01", "dir/"])
def test_upload_without_usable_name_is_rejected(client, catalog, media_root, sent_name):
    client.force_login(operations_user())

    response = _upload(client, sent_name)

    assert response.status_code in (400, 422)
    assert "file" in response.content.decode()
    assert ImportJob.objects.count() == 0
    assert _stored_files(media_root) == []


def test_upload_name_over_multipart_limit_is_rejected(client, catalog, media_root):
    client.force_login(operations_user())

    response = _upload(client, "n" * 2000 + ".csv")

    assert response.status_code == 400
    assert b"Traceback" not in response.content
    assert ImportJob.objects.count() == 0
    assert _stored_files(media_root) == []


def test_no_name_has_control_characters(client, catalog):
    client.force_login(operations_user())
    every_control = "".join(chr(code) for code in [*range(1, 32), *range(127, 160)])

    response = _upload(client, f"a{every_control}b.csv")

    assert response.status_code == 202
    name = ImportJob.objects.get().original_name
    assert all(unicodedata.category(char)[0] != "C" for char in name)
    assert name.startswith("a")
    assert name.endswith("b.csv")


@pytest.mark.django_db(transaction=True)
def test_error_report_download_name_is_safe(client, catalog):
    client.force_login(operations_user())
    _upload(client, 'count"; filename="evil.html.csv', b"store,sku,qty\nS001,ACC-1,x\n")
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)

    response = client.get(f"/api/imports/{job.task_id}/errors.csv")
    _stream_text(response)

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.count("filename=") == 1
    assert '"' not in disposition.split('filename="', 1)[1].rstrip('"')


@pytest.mark.django_db(transaction=True)
def test_error_report_download_keeps_unicode_name(client, catalog):
    client.force_login(operations_user())
    _upload(client, "在庫 count.csv", b"store,sku,qty\nS001,ACC-1,x\n")
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)

    response = client.get(f"/api/imports/{job.task_id}/errors.csv")
    _stream_text(response)

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E5%9C%A8%E5%BA%AB%20count-errors.csv"
    )


def test_admin_shows_cleaned_file_name_escaped(client, catalog):
    user = operations_user(is_superuser=True)
    client.force_login(user)
    _upload(client, "<script>alert(1)</script>.csv")

    page = client.get("/admin/imports/importjob/").content.decode()

    assert "<script>alert(1)" not in page


# Content that is not what the name says ----------------------------------------------------


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("sent_name", "content", "words"),
    [
        ("stock.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        ("stock.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG"),
        ("stock.csv", b"<!DOCTYPE html><html><body><table></table></body></html>", "HTML"),
        ("stock.xlsx", None, "ZIP archive"),
        ("stock.csv", bytes(range(256)) * 64, "binary data"),
        ("stock.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "Excel 97-2003"),
    ],
)
def test_content_unlike_its_name_is_rejected(client, catalog, media_root, sent_name, content, words):
    client.force_login(operations_user())
    content = content if content is not None else _zip_bytes({"notes.txt": b"not a workbook"})

    response = _upload(client, sent_name, content)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "file_unsupported"
    assert words in body["message"]
    assert ImportJob.objects.count() == 0
    assert _stored_files(media_root) == []


def test_csv_named_xlsx_is_read_as_csv(client, catalog):
    client.force_login(operations_user())

    response = _upload(client, "count.xlsx", STOCK_CSV)

    assert response.status_code == 202
    assert ImportJob.objects.get().file_format == "csv"


# Zip bombs --------------------------------------------------------------------------------

_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c></row>'
)
_SHEET_TAIL = b"</sheetData></worksheet>"
_WORKBOOK_PARTS = {
    "[Content_Types].xml": (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        b'relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        b'"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        b'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        b'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
        b'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships"><sheets><sheet name="Stock" sheetId="1" '
        b'r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        b'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        b'Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _deflate_spaces(mebibytes: int) -> tuple[bytes, int, int]:
    """Return raw deflate data of the sheet with `mebibytes` MiB of spaces, its CRC and size.

    After a full flush the compressor starts afresh, so every MiB of spaces compresses to
    the same bytes (about 1 KB): the data is built by repeating them, in milliseconds,
    instead of compressing gigabytes.
    """
    block = b" " * MIB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(_SHEET_HEAD) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(_SHEET_TAIL) + compressor.flush()

    crc = zlib.crc32(_SHEET_HEAD)
    for _ in range(mebibytes):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(_SHEET_TAIL, crc)
    size = len(_SHEET_HEAD) + mebibytes * MIB + len(_SHEET_TAIL)
    return head + repeated * mebibytes + tail, crc, size


def _zip_write_raw(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> None:
    """Write a ZIP file of (name, data, method, crc, size) members whose data is already
    compressed, with the sizes the members declare."""
    local_parts, central_parts, offset = [], [], 0
    for name, data, method, crc, size in members:
        encoded = name.encode()
        local = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
            len(encoded), 0,
        ) + encoded
        central_parts.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size,
            len(encoded), 0, 0, 0, 0, 0, offset,
        ) + encoded)
        local_parts.append(local + data)
        offset += len(local) + len(data)
    central = b"".join(central_parts)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), offset, 0
    )
    path.write_bytes(b"".join(local_parts) + central + end)


def _zip_bomb(path: Path, *, mebibytes: int, declared_size: int | None = None) -> Path:
    data, crc, size = _deflate_spaces(mebibytes)
    members = []
    for name, content in _WORKBOOK_PARTS.items():
        members.append((name, content, zipfile.ZIP_STORED, zlib.crc32(content), len(content)))
    members.append(
        ("xl/worksheets/sheet1.xml", data, zipfile.ZIP_DEFLATED, crc, declared_size or size)
    )
    _zip_write_raw(path, members)
    return path


def test_zip_bomb_helper_builds_readable_workbook(tmp_path):
    path = _zip_bomb(tmp_path / "small.xlsx", mebibytes=2)

    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")

    assert sheet.startswith(_SHEET_HEAD)
    assert sheet.endswith(_SHEET_TAIL)
    assert len(sheet) > 2 * MIB


def _job_of_upload(client, path: Path) -> ImportJob:
    response = _upload(client, path.name, path.read_bytes())
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_zip_bomb_of_gigabytes_fails_job(client, catalog, tmp_path):
    client.force_login(operations_user())
    path = _zip_bomb(tmp_path / "stock.xlsx", mebibytes=3 * 1024)
    assert path.stat().st_size < 5 * MIB

    job = _job_of_upload(client, path)

    assert job.status == ImportStatus.FAILED
    assert job.failure_code == "file_too_large"
    assert "unpacks to 3221 MB" in job.failure_reason
    assert "limit" in job.failure_reason
    assert job.rows_ok == 0
    assert ImportRowError.objects.count() == 0
    assert StockLevel.objects.count() == 0
    assert StockMovement.objects.count() == 0


def test_zip_bomb_with_false_sizes_fails_job(client, catalog, tmp_path):
    client.force_login(operations_user())
    path = _zip_bomb(tmp_path / "stock.xlsx", mebibytes=1024, declared_size=4096)

    job = _job_of_upload(client, path)

    assert job.status == ImportStatus.FAILED
    assert job.failure_code == "file_corrupt"
    assert "damaged" in job.failure_reason
    assert job.rows_ok == 0
    assert StockLevel.objects.count() == 0
    assert StockMovement.objects.count() == 0


# HTML and formulas in imported text -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_error_report_neutralises_every_cell(client, catalog):
    client.force_login(operations_user())
    content = (
        "store,sku,qty,=HYPERLINK(\"http://x\")\n"
        "S001,ACC-1,=1+2,@SUM(A1)\n"
        "S001,<script>alert(1)</script>,x,+cmd|' /C calc'!A0\n"
        "S001,ACC-2,-5,\t=tab\n"
    ).encode()
    _upload(client, "count.csv", content)
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)

    response = client.get(f"/api/imports/{job.task_id}/errors.csv")
    text = _stream_text(response)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]

    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "'=HYPERLINK(\"http://x\")" in rows[0]
    assert "'=1+2" in cells
    assert "'@SUM(A1)" in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert "<script>alert(1)</script>" in cells
    risky = [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
    assert risky == []


def test_admin_escapes_html_in_product_name(client):
    client.force_login(back_office_user(is_superuser=True))
    product = ProductFactory(sku="ACC-9", name="<script>alert('name')</script>")

    changelist = client.get("/admin/inventory/product/").content.decode()
    change = client.get(f"/admin/inventory/product/{product.pk}/change/").content.decode()

    for page in (changelist, change):
        assert "<script>alert('name')" not in page
        assert "&lt;script&gt;alert(" in page


def test_admin_escapes_html_in_transfer_notes(client):
    user = back_office_user(is_superuser=True)
    source, destination = StoreFactory(code="S001"), StoreFactory(code="S002")
    product = stocked_product(source, on_hand=5)
    transfer = transfer_create(
        actor=user, from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=1)],
        notes='<img src=x onerror="alert(1)">',
    )
    client.force_login(user)

    change = client.get(f"/admin/inventory/transfer/{transfer.pk}/change/").content.decode()

    assert Transfer.objects.get().notes.startswith("<img")
    assert "<img src=x" not in change
    assert "&lt;img src=x" in change
