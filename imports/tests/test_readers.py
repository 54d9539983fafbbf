import datetime
import time
import zipfile
from pathlib import Path

import psutil
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from imports.problems import ImportErrorCode, ImportFileError
from imports.readers import FormulaWithoutValue, column_letter, file_kind_detect, open_table
from imports.readers.xlsx_table import XlsxTable
from imports.tests.conftest import case_path, shared_data_path

XLSX_CASES = ["06", "08", "13", "14", "21"]
CSV_CASES = ["01", "02", "05", "12", "15", "18", "19", "20", "23"]


def rows_of(table):
    return list(table.rows_iter())


def file_write(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    path.write_bytes(content)
    return path


def workbook_save(
    path: Path, rows: list[list], *, title: str = "data", date1904: bool = False
) -> Path:
    workbook = Workbook()
    if date1904:
        workbook.epoch = CALENDAR_MAC_1904
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def workbook_add_sheet(
    path: Path, title: str, rows: list[list], *, hide_first: bool = False
) -> None:
    workbook = load_workbook(path)
    sheet = workbook.create_sheet(title)
    for row in rows:
        sheet.append(row)
    if hide_first:
        workbook.worksheets[0].sheet_state = "hidden"
        workbook.active = 1
    workbook.save(path)


def sheet_xml_replace(path: Path, old: bytes, new: bytes) -> None:
    """Rewrite the first sheet's XML of a saved workbook, to build what openpyxl cannot write."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert old in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


# The import cases


def test_bom_is_dropped_from_first_header():
    table = open_table(case_path("01"))

    rows = rows_of(table)

    assert table.encoding == "utf-8-sig"
    assert table.header[0] == "store_code"
    assert table.delimiter == ","
    assert [row.number for row in rows] == [2, 3, 4, 5, 6, 7]
    assert rows[0].cells[2] == "356465816998392"
    assert all(row.error is None for row in rows)


def test_semicolon_file_keeps_quoted_semicolon():
    table = open_table(case_path("02"))

    rows = rows_of(table)

    assert table.delimiter == ";"
    assert table.format == "csv"
    assert table.encoding == "utf-8"
    assert len(rows) == 6
    assert rows[3].cells[6] == "Hausmarke; Aktion"
    assert rows[5].cells[6] == "Importeur Süd"
    assert [row.cells[1] for row in rows] == [
        "199,00",
        "1.299,00",
        "849,90",
        "19,99",
        "4,5",
        "1.049,00",
    ]


def test_scientific_serials_read_as_written():
    rows = rows_of(open_table(case_path("05")))

    serials = {row.number: row.cells[2] for row in rows}

    assert len(rows) == 7
    assert serials[3] == "3.56789E+14"
    assert serials[5] == "3.5212E+14"
    assert serials[2] == "353279318891036"


def test_xlsx_number_serials_stay_exact():
    table = open_table(case_path("06"))

    serials = {row.number: row.cells[2] for row in rows_of(table)}

    assert serials[2] == 358984206643275
    assert type(serials[2]) is int
    assert serials[3] == 352550002954962
    assert serials[4] == 357159157407050
    assert serials[5] == pytest.approx(8.9652901234567e19)
    assert type(serials[5]) is float
    assert serials[6] == "356879366483078"


def test_xlsx_date_cells_and_serials():
    table = open_table(case_path("08"))

    received = {row.number: row.cells[6] for row in rows_of(table)}

    assert table.date1904 is False
    assert received[2] == datetime.date(2024, 1, 2)
    assert received[3] == 45292
    assert received[4] == 45293
    assert received[5] == 45294.75
    assert received[6] == "2024-01-05"
    assert received[7] == datetime.datetime(2024, 1, 6, 14, 30)


def test_quoted_newlines_four_records():
    path = case_path("12")
    table = open_table(path)

    rows = rows_of(table)

    assert path.read_bytes().count(b"\n") == 9
    assert len(rows) == 4
    assert [row.number for row in rows] == [2, 4, 6, 7]
    assert rows[0].cells[4] == "Display model.\nBox opened, all accessories present."
    assert rows[1].cells[4] == "Line 1\r\nLine 2 after CRLF inside quotes"
    assert rows[3].cells[1] == 'Earbuds "Pro 2"'
    assert rows[3].cells[4] == "Returned:\n- left bud missing\n- case OK"
    assert rows[2].cells[4] == ""


def test_phantom_range_reads_fast():
    started = time.perf_counter()

    table = open_table(case_path("13"))
    rows = rows_of(table)
    count = table.row_count()

    assert time.perf_counter() - started < 0.5
    assert len(table.header) == 7
    assert [row.number for row in rows] == [2, 3, 4, 5, 6]
    assert count == 5
    assert all(len(row.cells) == 7 for row in rows)


def test_duplicate_headers_kept_by_reader():
    table = open_table(case_path("14"))

    assert table.header.count("qty") == 2
    assert table.header.index("qty") == 3


def test_header_keeps_spaces_and_case():
    table = open_table(case_path("15"))

    assert table.header == [
        " SKU ",
        "Price ",
        "CURRENCY",
        "valid_from",
        " VALID_TO",
        " discount ",
        "Source",
    ]
    assert table.row_count() == 4


def test_nul_byte_fails_only_its_line():
    rows = rows_of(open_table(case_path("18")))

    problems = {row.number: row.error for row in rows if row.error}

    assert [row.number for row in rows] == [2, 3, 4, 5]
    assert list(problems) == [4]
    assert problems[4].code == ImportErrorCode.NUL_BYTE
    assert "Line 4" in problems[4].message
    assert "NUL byte" in problems[4].message
    assert "Remove" in problems[4].message


def test_ragged_rows_fail_alone():
    rows = rows_of(open_table(case_path("19")))

    by_line = {row.number: row for row in rows}

    assert by_line[3].error.code == ImportErrorCode.FIELD_COUNT
    assert by_line[3].error.message == (
        "Line 3 has 8 fields where the header has 7. Quote values that contain the delimiter."
    )
    assert by_line[5].error.code == ImportErrorCode.FIELD_COUNT
    assert by_line[5].error.message.startswith("Line 5 has 6 fields where the header has 7.")
    assert [number for number, row in by_line.items() if row.error is None] == [2, 4, 6, 7]
    assert by_line[4].cells == ["S100", "CBL-USBC-1M", "", "25", "1.10", "available", "2024-05-15"]
    assert len(by_line[7].cells) == 7


def test_formula_text_is_read_literally():
    rows = rows_of(open_table(case_path("20")))

    assert rows[1].cells[1] == '=HYPERLINK("http://example.invalid/?d="&A1,"Open")'
    assert rows[2].cells[0] == "@SUM(1+1)"
    assert rows[3].cells[1] == "+1+1"
    assert rows[4].cells[1] == "-2+3"
    assert rows[5].cells[1] == "Case, black (=standard)"


def test_formula_cells_saved_or_marker():
    table = open_table(case_path("21"))

    prices = {row.number: row.cells[1] for row in rows_of(table)}

    assert table.engine == "openpyxl"
    assert prices[2] == 179.1
    assert prices[3] == 251.1
    assert prices[4] == 17.991
    assert prices[5] == FormulaWithoutValue("H5*0.9")
    assert prices[6] == FormulaWithoutValue("H6*0.9")


def test_large_csv_counts_every_row():
    table = open_table(case_path("23"))

    count = table.row_count()

    assert count == 53_000


@pytest.mark.parametrize("case", CSV_CASES + XLSX_CASES)
def test_row_count_matches_rows(case):
    table = open_table(case_path(case))

    first_pass = rows_of(table)
    second_pass = rows_of(table)

    assert table.row_count() == len(first_pass)
    assert second_pass == first_pass


@pytest.mark.parametrize("case", XLSX_CASES)
def test_xlsx_engines_return_same_rows(case):
    default = open_table(case_path(case))
    streamed = open_table(case_path(case), calamine_max_sheet_bytes=0)

    assert streamed.engine == "openpyxl"
    assert streamed.header == default.header
    assert rows_of(streamed) == rows_of(default)


@pytest.mark.parametrize(
    "case, engine",
    [
        ("06", "calamine"),
        ("08", "calamine"),
        ("14", "calamine"),
        ("13", "openpyxl"),
        ("21", "openpyxl"),
    ],
)
def test_xlsx_engine_choice(case, engine):
    table = open_table(case_path(case))

    assert table.engine == engine


# File kinds


def test_kind_comes_from_content_not_name(tmp_path):
    workbook = workbook_save(tmp_path / "renamed.csv", [["sku"], ["A1"]])
    text = file_write(tmp_path, "export.xlsx", b"sku,qty\nA1,1\n")

    assert file_kind_detect(workbook) == "xlsx"
    assert file_kind_detect(text) == "csv"


@pytest.mark.parametrize(
    "content, words",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "legacy Excel 97-2003"),
        (b"<!DOCTYPE html><html><body><table></table></body></html>", "web page"),
        (bytes(range(256)) * 40, "binary data"),
    ],
)
def test_unsupported_files_are_named(tmp_path, content, words):
    path = file_write(tmp_path, "upload.xlsx", content)

    with pytest.raises(ImportFileError) as raised:
        open_table(path)

    assert raised.value.code == ImportErrorCode.FILE_UNSUPPORTED
    assert words in raised.value.message
    assert "CSV or XLSX" in raised.value.message or ".xlsx or CSV" in raised.value.message


@pytest.mark.parametrize(
    "member, words",
    [
        ("notes.txt", "ZIP archive that is not an Excel workbook"),
        ("content.xml", "OpenDocument"),
        ("xl/workbook.bin", "binary Excel workbook (.xlsb)"),
    ],
)
def test_zip_not_xlsx_is_named(tmp_path, member, words):
    path = tmp_path / "upload.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(member, "x")

    with pytest.raises(ImportFileError) as raised:
        file_kind_detect(path)

    assert raised.value.code == ImportErrorCode.FILE_UNSUPPORTED
    assert words in raised.value.message


def test_damaged_zip_is_corrupt(tmp_path):
    good = workbook_save(tmp_path / "good.xlsx", [["sku"], ["A1"]])
    path = file_write(tmp_path, "cut.xlsx", good.read_bytes()[:300])

    with pytest.raises(ImportFileError) as raised:
        open_table(path)

    assert raised.value.code == ImportErrorCode.FILE_CORRUPT


# CSV encodings, delimiters and line ends


@pytest.mark.parametrize(
    "content, encoding",
    [
        ("sku;name\nA1;Café\n".encode("cp1252"), "cp1252"),
        (b"\xff\xfe" + "sku;name\nA1;Café\n".encode("utf-16-le"), "utf-16"),
        (b"\xfe\xff" + "sku;name\nA1;Café\n".encode("utf-16-be"), "utf-16"),
        ("sku;name\nA1;Café\n".encode("utf-16-le"), "utf-16-le"),
        ("sku;name\nA1;Café\n".encode(), "utf-8"),
    ],
)
def test_encoding_is_detected(tmp_path, content, encoding):
    path = file_write(tmp_path, "upload.csv", content)

    table = open_table(path)

    assert table.encoding == encoding
    assert table.header == ["sku", "name"]
    assert rows_of(table)[0].cells == ["A1", "Café"]


def test_utf8_cut_at_prefix_end(tmp_path):
    head = b"sku;name\nA1;"
    filler = b"x" * (64 * 1024 - 1 - len(head))
    body = head + filler + "ö\nA2;Größe\n".encode()
    assert body[64 * 1024 - 1 : 64 * 1024 + 1] == "ö".encode()

    table = open_table(file_write(tmp_path, "upload.csv", body))

    assert table.encoding == "utf-8"
    assert all(row.error is None for row in table.rows_iter())


def test_bad_header_bytes_are_replaced(tmp_path):
    # 0x81 is undefined in Windows-1252 as well as invalid in UTF-8.
    path = file_write(tmp_path, "upload.csv", b"sku,caf\xe9 \x81\nA1,1\n")

    table = open_table(path)

    assert table.encoding == "cp1252"
    assert table.header == ["sku", "café \ufffd"]


def test_late_bad_bytes_fail_line(tmp_path):
    body = b"sku,name\n" + b"A1,plain\n" * 8000 + b"A2,caf\xe9\n" + b"A3,plain\n"

    rows = rows_of(open_table(file_write(tmp_path, "upload.csv", body)))

    assert rows[-2].error.code == ImportErrorCode.ENCODING
    assert rows[-2].error.message.startswith("Line 8002 contains bytes that are not valid UTF-8")
    assert rows[-2].cells == ["A2", "caf\ufffd"]
    assert rows[-1].error is None


def test_truncated_utf16_fails_last_line(tmp_path):
    content = b"\xff\xfe" + "sku\nA1\n".encode("utf-16-le") + b"\x00"

    rows = rows_of(open_table(file_write(tmp_path, "upload.csv", content)))

    assert rows[0].cells == ["A1"]
    assert rows[1].number == 3
    assert rows[1].error.code == ImportErrorCode.ENCODING
    assert "not valid UTF-16" in rows[1].error.message


@pytest.mark.parametrize(
    "content, delimiter, file_format",
    [
        (b"sku\tname\tqty\nA1\tx, y\t1\n", "\t", "tsv"),
        (b"sku|name|qty\nA1|x;y|1\n", "|", "csv"),
        (b'"sku;code",name,qty\n"A;1",x,1\n', ",", "csv"),
        (b"sku;name;qty\nA1;1,5;x,y,z\n", ";", "csv"),
    ],
)
def test_delimiter_is_sniffed_from_header(tmp_path, content, delimiter, file_format):
    table = open_table(file_write(tmp_path, "upload.csv", content))

    assert table.delimiter == delimiter
    assert table.format == file_format
    assert len(table.header) == 3


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"])
def test_line_ends_are_all_read(tmp_path, line_end):
    content = (
        line_end.join([b"sku,name", b"A1,x", b"", b'A2,"two' + line_end + b'lines"', b"A3,z"])
        + line_end
    )

    rows = rows_of(open_table(file_write(tmp_path, "upload.csv", content)))

    assert [row.number for row in rows] == [2, 4, 6]
    assert rows[1].cells[1] == "two" + line_end.decode() + "lines"


def test_empty_file_has_no_rows(tmp_path):
    table = open_table(file_write(tmp_path, "upload.csv", b""))

    assert table.header == []
    assert rows_of(table) == []
    assert table.row_count() == 0


def test_header_only_file_has_no_rows(tmp_path):
    table = open_table(file_write(tmp_path, "upload.csv", b"\r\nsku,qty\r\n\r\n"))

    assert table.header == ["sku", "qty"]
    assert rows_of(table) == []
    assert table.row_count() == 0


def test_blank_lines_are_skipped(tmp_path):
    content = b"sku,qty\n\nA1,1\n,\n  \nA2,2\n"

    rows = rows_of(open_table(file_write(tmp_path, "upload.csv", content)))

    assert [row.number for row in rows] == [3, 6]


def test_file_without_header_is_rejected(tmp_path):
    path = file_write(
        tmp_path, "upload.csv", b"356465816998392,1,161.40\n355837354017804,1,161.40\n"
    )

    with pytest.raises(ImportFileError) as raised:
        open_table(path)

    assert raised.value.code == ImportErrorCode.HEADER_MISSING
    assert "Line 1" in raised.value.message
    assert "356465816998392" in raised.value.message


def test_unclosed_quote_fails_its_line(tmp_path):
    content = b'sku,name\nA1,ok\nA2,"open\nA3,lost\n'

    rows = rows_of(open_table(file_write(tmp_path, "upload.csv", content)))

    assert [row.number for row in rows] == [2, 3]
    assert rows[1].error.code == ImportErrorCode.QUOTE_INVALID
    assert rows[1].error.message.startswith("Line 3 opens a quote that is never closed")


def test_text_after_quote_fails_line(tmp_path):
    content = b'sku,name\nA1,"6.5" screen"\nA2,ok\n'

    rows = rows_of(open_table(file_write(tmp_path, "upload.csv", content)))

    assert rows[0].error.code == ImportErrorCode.QUOTE_INVALID
    assert rows[1].cells == ["A2", "ok"]
    assert rows[1].number == 3


def test_csv_streams_in_flat_memory(tmp_path):
    path = tmp_path / "million.csv"
    with path.open("wb") as stream:
        stream.write(b"sku,qty\n")
        stream.write(b"PHN-A15-128-BLK,1\n" * 1_000_000)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    rss_peak = rss_before

    count = 0
    for count, _ in enumerate(open_table(path).rows_iter(), start=1):
        if count % 100_000 == 0:
            rss_peak = max(rss_peak, process.memory_info().rss)

    # The file is 18 MB, so reading it whole or keeping the rows would exceed this.
    assert count == 1_000_000
    assert rss_peak - rss_before < 8 * 1024 * 1024


def test_online_retail_yields_every_record():
    path = shared_data_path("online-retail", "online-retail-head200k.csv")

    table = open_table(path)

    assert table.header[:3] == ["InvoiceNo", "StockCode", "Description"]
    assert table.row_count() == 200_000


# XLSX sheets


@pytest.mark.parametrize("calamine_max_sheet_bytes", [None, 0])
@pytest.mark.parametrize("name", ["export.xls", "export.csv", "upload"])
def test_workbook_name_does_not_matter(tmp_path, name, calamine_max_sheet_bytes):
    path = file_write(tmp_path, name, case_path("06").read_bytes())
    limits = {} if calamine_max_sheet_bytes is None else {"calamine_max_sheet_bytes": 0}

    table = open_table(path, **limits)

    assert len(rows_of(table)) == 5


def test_calamine_sheet_loaded_once_until_close(tmp_path, monkeypatch):
    path = workbook_save(tmp_path / "book.xlsx", [["sku", "qty"], ["A1", 3], ["A2", 4]])
    loads = []
    original = XlsxTable._calamine_sheet_load

    def sheet_load(self):
        loads.append(self.path)
        return original(self)

    monkeypatch.setattr(XlsxTable, "_calamine_sheet_load", sheet_load)
    table = open_table(path)
    counted = table.row_count()
    validated = rows_of(table)

    assert table.engine == "calamine"
    assert counted == 2
    assert [row.cells for row in validated] == [["A1", 3], ["A2", 4]]
    assert len(loads) == 1
    table.close()
    assert len(rows_of(table)) == 2
    assert len(loads) == 2


def test_named_sheet_is_read(tmp_path):
    path = workbook_save(tmp_path / "book.xlsx", [["note"], ["first sheet"]], title="notes")
    workbook_add_sheet(path, "stock", [["sku", "qty"], ["A1", 3]])

    table = open_table(path, sheet="stock")

    assert table.sheet_name == "stock"
    assert rows_of(table)[0].cells == ["A1", 3]


def test_unknown_sheet_lists_sheet_names(tmp_path):
    path = workbook_save(tmp_path / "book.xlsx", [["sku"]], title="notes")
    workbook_add_sheet(path, "stock", [["sku", "qty"]])

    with pytest.raises(ImportFileError) as raised:
        open_table(path, sheet="Stok")

    assert raised.value.code == ImportErrorCode.SHEET_NOT_FOUND
    assert "'Stok'" in raised.value.message
    assert "'notes', 'stock'" in raised.value.message


def test_first_visible_sheet_is_default(tmp_path):
    path = workbook_save(tmp_path / "book.xlsx", [["hidden"]], title="lookup")
    workbook_add_sheet(path, "stock", [["sku", "qty"], ["A1", 3]], hide_first=True)

    table = open_table(path)

    assert table.sheet_name == "stock"


def test_date1904_workbook_is_flagged(tmp_path):
    path = workbook_save(
        tmp_path / "mac.xlsx",
        [["sku", "received"], ["A1", datetime.date(2024, 1, 2)]],
        date1904=True,
    )

    table = open_table(path)

    assert table.date1904 is True
    assert rows_of(table)[0].cells[1] == datetime.date(2024, 1, 2)


def test_sheet_offset_keeps_rows_and_columns(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet["C3"], sheet["D3"] = "sku", "qty"
    sheet["C5"], sheet["D5"] = "A1", 2
    path = tmp_path / "offset.xlsx"
    workbook.save(path)

    default = open_table(path)
    streamed = open_table(path, calamine_max_sheet_bytes=0)

    assert default.engine == "calamine"
    assert default.header == ["", "", "sku", "qty"]
    assert rows_of(default)[0].number == 5
    assert rows_of(default)[0].cells == [None, None, "A1", 2]
    assert rows_of(streamed) == rows_of(default)


def test_far_cell_uses_openpyxl(tmp_path):
    path = workbook_save(tmp_path / "far.xlsx", [["sku", "qty"], ["A1", 1]])
    sheet_xml_replace(
        path,
        b"</sheetData>",
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )

    table = open_table(path)

    assert table.engine == "openpyxl"
    assert [row.cells for row in rows_of(table)] == [["A1", 1]]


def test_error_cells_keep_their_error_text(tmp_path):
    path = workbook_save(tmp_path / "errors.xlsx", [["sku", "price"], ["A1", 2]])
    sheet_xml_replace(path, b'<c r="B2" t="n"><v>2</v></c>', b'<c r="B2" t="e"><v>#DIV/0!</v></c>')

    table = open_table(path)

    assert table.engine == "openpyxl"
    assert rows_of(table)[0].cells == ["A1", "#DIV/0!"]


def test_empty_text_formula_is_empty(tmp_path):
    path = workbook_save(tmp_path / "formula.xlsx", [["sku", "name"], ["A1", "x"]])
    sheet_xml_replace(
        path,
        b'<c r="B2" t="inlineStr"><is><t>x</t></is></c>',
        b'<c r="B2" t="str"><f>""</f><v></v></c>',
    )

    rows = rows_of(open_table(path))

    assert rows[0].cells == ["A1", None]


def test_workbook_over_size_limit_is_rejected(tmp_path):
    path = workbook_save(tmp_path / "book.xlsx", [["sku"], ["A1"]])

    with pytest.raises(ImportFileError) as raised:
        open_table(path, max_uncompressed_bytes=1000)

    assert raised.value.code == ImportErrorCode.FILE_TOO_LARGE
    assert "limit" in raised.value.message


def test_zip_bomb_sheet_is_rejected(tmp_path):
    path = workbook_save(tmp_path / "bomb.xlsx", [["sku"], ["A1"]])
    sheet_xml_replace(path, b"</sheetData>", b"</sheetData><!--" + b"a" * 3_000_000 + b"-->")

    with pytest.raises(ImportFileError) as raised:
        open_table(path)

    assert raised.value.code == ImportErrorCode.FILE_TOO_LARGE
    assert "zip bomb" in raised.value.message


def test_empty_sheet_has_no_header(tmp_path):
    path = workbook_save(tmp_path / "empty.xlsx", [])

    table = open_table(path)

    assert table.header == []
    assert rows_of(table) == []


def test_column_letters():
    letters = [column_letter(index) for index in (0, 3, 5, 25, 26, 27, 701, 702, 16383)]

    assert letters == ["A", "D", "F", "Z", "AA", "AB", "ZZ", "AAA", "XFD"]


def test_path_may_be_text(tmp_path):
    path = file_write(tmp_path, "upload.csv", b"sku\nA1\n")

    table = open_table(str(path))

    assert table.header == ["sku"]
