"""Read the rows of one XLSX sheet with python-calamine, or with openpyxl when needed.

python-calamine 0.9.1 reads roughly 10 times as fast as openpyxl's read-only mode but
loads the whole sheet into memory first (docs/imports-readers.md has the numbers).
It also has two faults that openpyxl, driven through its streaming sheet parser,
does not have:

- A formula without a saved value and an error cell (#DIV/0!) both come back as "",
  the same as an empty cell.
- It allocates the sheet as a dense grid from the first to the last cell that has a
  value, about 32 bytes a cell, so one value in XFD1048576 requests 512 GiB and the
  process aborts.

So calamine reads a sheet only when a scan of its XML finds no formula and no error
cell, every cell and row carries its reference, the dense grid stays under
CALAMINE_MAX_CELLS and the sheet XML under CALAMINE_MAX_SHEET_BYTES. Every other
sheet streams through openpyxl in constant memory. Both engines return the same cells.
"""

import datetime
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, builtin_format_code, is_datetime
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from imports.problems import ImportErrorCode, ImportFileError
from imports.readers.table import (
    Cell,
    FormulaWithoutValue,
    RawRow,
    Table,
    cell_text,
    header_require_names,
)

# Uncompressed size of all parts of a workbook above which it is rejected as a
# possible zip bomb. 200 MB is about 480,000 rows of the benchmark sheet below.
MAX_UNCOMPRESSED_BYTES = 200 * 1000 * 1000

# Compression ratio of the sheet above which it is rejected. Sheet XML compresses
# about 9:1 (a generated 100,000-row stock sheet: 41 MB to 4.5 MB). Sheets under
# RATIO_CHECK_MIN_BYTES are exempt, because they cannot exhaust memory and
# deflate reaches high ratios on small repetitive sheets.
MAX_SHEET_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024

# Largest uncompressed sheet XML that calamine loads, because larger sheets stream
# through openpyxl. Reading with calamine peaks at about twice the sheet XML size
# (84 MB for the 41 MB sheet above).
CALAMINE_MAX_SHEET_BYTES = 64 * 1024 * 1024

# Largest dense grid (rows x columns, counted from A1) that calamine may allocate:
# about 160 MB at 32 bytes a cell.
CALAMINE_MAX_CELLS = 5_000_000

_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_RELATIONSHIP_ID_STRICT = "{http://purl.oclc.org/ooxml/officeDocument/relationships}id"

_FORMULA_ELEMENT = re.compile(rb"<f[\s>/]")
_WIDE_COLUMN_REF = re.compile(rb'<c r="([A-Z]{2,3})[0-9]')
_CELL_WITHOUT_REFERENCE = re.compile(rb'<c(?:[>/\t\n\r]| (?!r="))')
_ROW_WITHOUT_REFERENCE = re.compile(rb'<row(?:[>/\t\n\r]| (?!r="))')

# Whole floats up to this value are exact integers, so they become int.
_FLOAT_EXACT_MAX = 2**53


@dataclass(frozen=True, slots=True)
class _SheetEntry:
    name: str
    member: str
    is_worksheet: bool
    visible: bool


class XlsxTable(Table):
    format = "xlsx"

    def __init__(
        self, path: Path, *, sheet_name: str, member: str, date1904: bool, engine: str
    ) -> None:
        self.path = path
        self.sheet_name = sheet_name
        self._member = member
        self.date1904 = date1904
        self.engine = engine
        self.header = []
        self.header_row = 0
        self._calamine_sheet: CalamineSheet | None = None

        rows = self._sheet_rows()
        try:
            for number, cells in rows:
                if any(cell is not None for cell in cells):
                    self._header_set(number, cells)
                    break
        finally:
            rows.close()

    def rows_iter(self) -> Iterator[RawRow]:
        width = len(self.header)
        if not width:
            return

        for number, cells in self._sheet_rows():
            if number <= self.header_row:
                continue
            if len(cells) > width:
                cells = cells[:width]
            elif len(cells) < width:
                cells = cells + [None] * (width - len(cells))
            if cells.count(None) == width:
                continue
            yield RawRow(number, cells)

    def _header_set(self, number: int, cells: list[Cell]) -> None:
        # Trailing empty columns are formatting, not data. Leading ones keep their
        # place so that column letters in messages match the sheet.
        header = [cell_text(cell) for cell in cells]
        while header and not header[-1].strip():
            header.pop()
        header_require_names(header, f"Row {number}")
        self.header = header
        self.header_row = number

    def _sheet_rows(self) -> Iterator[tuple[int, list[Cell]]]:
        if self.engine == "calamine":
            return self._calamine_rows()
        return self._openpyxl_rows()

    def close(self) -> None:
        self._calamine_sheet = None

    def _calamine_rows(self) -> Iterator[tuple[int, list[Cell]]]:
        # The sheet loaded to find the header serves every later pass until close(),
        # because loading it takes about as long as one pass over its rows.
        sheet = self._calamine_sheet
        if sheet is None:
            sheet = self._calamine_sheet = self._calamine_sheet_load()
        if sheet.start is None:
            return

        # In python-calamine 0.9.1, iter_rows() yields rows from row 1 but columns from
        # the first used one, so padding restores the column positions.
        padding = [None] * sheet.start[1]
        for index, values in enumerate(sheet.iter_rows()):
            # _cell_value() inlined: this loop runs once per cell of the sheet.
            cells = [
                None
                if value == ""
                else int(value)
                if value.__class__ is float
                and value.is_integer()
                and -_FLOAT_EXACT_MAX <= value <= _FLOAT_EXACT_MAX
                else value
                for value in values
            ]
            yield index + 1, padding + cells

    def _calamine_sheet_load(self) -> CalamineSheet:
        # A file object, because from_path() picks the format by the file name and
        # fails on a workbook saved as .xls or stored without an extension.
        try:
            with self.path.open("rb") as stream:
                workbook = CalamineWorkbook.from_filelike(stream)
                return workbook.get_sheet_by_name(self.sheet_name)
        except CalamineError as error:
            raise _corrupt_error(str(error)) from error

    def _openpyxl_rows(self) -> Iterator[tuple[int, list[Cell]]]:
        with self.path.open("rb") as stream:
            reader = _openpyxl_reader(stream)
            workbook = reader.wb
            try:
                with reader.archive.open(self._member) as source:
                    parser = _CachedValueParser(
                        source,
                        reader.shared_strings,
                        data_only=True,
                        epoch=workbook.epoch,
                        date_formats=workbook._date_formats,
                        timedelta_formats=workbook._timedelta_formats,
                    )
                    parser.date_only_styles = _date_only_styles(workbook)
                    for number, parsed_cells in parser.parse():
                        yield number, _openpyxl_row(parsed_cells)
            except ElementTree.ParseError as error:
                raise _corrupt_error(f"the sheet is not valid XML: {error}") from error
            finally:
                reader.archive.close()


def _openpyxl_reader(stream) -> ExcelReader:
    """Read the shared strings, styles and workbook settings, but no worksheet.

    This is openpyxl's ExcelReader.read() minus read_worksheets(), whose read-only
    worksheets scan the whole sheet XML for a <dimension> element when it is missing (as
    in files that openpyxl itself writes). A file object, because given a path openpyxl
    rejects any name that does not end in .xlsx, .xlsm, .xltx or .xltm.
    """
    try:
        reader = ExcelReader(stream, read_only=True, data_only=True, keep_links=False)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
    except (KeyError, ValueError, zipfile.BadZipFile, ElementTree.ParseError) as error:
        raise _corrupt_error(str(error)) from error
    return reader


def xlsx_table_open(
    path: Path,
    *,
    sheet: str | None = None,
    max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES,
    calamine_max_sheet_bytes: int = CALAMINE_MAX_SHEET_BYTES,
) -> XlsxTable:
    """Open one sheet of a workbook: the named one, else the first visible worksheet.

    Raises ImportFileError for a damaged workbook, a possible zip bomb or an unknown
    sheet name. `calamine_max_sheet_bytes=0` makes every sheet stream through openpyxl.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            _zip_require_size(archive, max_uncompressed_bytes)
            entries, date1904 = _workbook_read(archive)
            entry = _sheet_choose(entries, sheet)
            info = _member_info(archive, entry.member)
            _sheet_require_ratio(info)
            fits = info.file_size <= calamine_max_sheet_bytes and _calamine_fits(
                archive.read(info), CALAMINE_MAX_CELLS
            )
            engine = "calamine" if fits else "openpyxl"
    except zipfile.BadZipFile as error:
        raise _corrupt_error(str(error)) from error

    return XlsxTable(
        path, sheet_name=entry.name, member=entry.member, date1904=date1904, engine=engine
    )


class _CachedValueParser(WorkSheetParser):
    """openpyxl's sheet parser, keeping formulas that have no saved value apart from empty cells.

    With data_only=True openpyxl returns None for both. With data_only=False it would
    return the formula text and drop the saved values of all the other formula cells.
    """

    date_only_styles: frozenset[int] = frozenset()

    def parse_cell(self, element):
        cell = super().parse_cell(element)
        value = cell["value"]
        if value is None:
            formula = element.find(FORMULA_TAG)
            if formula is not None and _formula_lacks_value(element):
                cell["value"] = FormulaWithoutValue(formula.text or "")
        elif (
            cell["data_type"] == "d"
            and cell["style_id"] in self.date_only_styles
            and isinstance(value, datetime.datetime)
        ):
            cell["value"] = value.date()
        return cell


def _formula_lacks_value(element) -> bool:
    # A formula whose result is the empty string is saved as t="str" with an empty
    # <v>. Any other empty or missing <v> means that the result was never saved.
    value = element.find(VALUE_TAG)
    if value is None:
        return True
    return not value.text and element.get("t") != "str"


def _openpyxl_row(parsed_cells: list[dict]) -> list[Cell]:
    # Cells are placed by their column so that gaps stay empty. Cells without a value
    # (formatting only, even in column XFD) do not widen the row.
    row: list[Cell] = []
    for parsed in parsed_cells:
        value = _cell_value(parsed["value"])
        if value is None:
            continue
        index = parsed["column"] - 1
        if index >= len(row):
            row.extend([None] * (index + 1 - len(row)))
        row[index] = value
    return row


def _cell_value(value: Cell) -> Cell:
    if value is None or value == "":
        return None
    if type(value) is float and value.is_integer() and abs(value) <= _FLOAT_EXACT_MAX:
        return int(value)
    return value


def _date_only_styles(workbook) -> frozenset[int]:
    # openpyxl turns every date-formatted number into a datetime. Cells whose format
    # shows no time of day (yyyy-mm-dd, dd.mm.yyyy) become dates, as calamine reads them.
    styles = set()
    for style_id in workbook._date_formats:
        format_id = workbook._cell_styles[style_id].numFmtId
        if format_id < BUILTIN_FORMATS_MAX_SIZE:
            number_format = builtin_format_code(format_id)
        else:
            number_format = workbook._number_formats[format_id - BUILTIN_FORMATS_MAX_SIZE]
        if number_format and is_datetime(number_format) == "date":
            styles.add(style_id)
    return frozenset(styles)


def _calamine_fits(sheet_xml: bytes, max_cells: int) -> bool:
    """Return whether calamine reads this sheet exactly as openpyxl would, in bounded memory."""
    head = sheet_xml[:4096]
    if b"<worksheet" not in head:
        # A namespace prefix on every element (<x:c>) hides cells from the checks below.
        return False
    if _FORMULA_ELEMENT.search(sheet_xml) or b' t="e"' in sheet_xml or b" t='e'" in sheet_xml:
        return False

    # Calamine places a cell without a reference by counting, so the scan can bound the
    # grid only when every cell is written as <c r="..."> and every row as <row r="...">.
    if _CELL_WITHOUT_REFERENCE.search(sheet_xml) or _ROW_WITHOUT_REFERENCE.search(sheet_xml):
        return False

    return _max_row(sheet_xml) * _max_column(sheet_xml) <= max_cells


def _max_column(sheet_xml: bytes) -> int:
    wide = set(_WIDE_COLUMN_REF.findall(sheet_xml))
    if not wide:
        return 26
    return max(_column_number(letters) for letters in wide)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def _max_row(sheet_xml: bytes) -> int:
    # Search the longest row numbers first, so that only the few references with the
    # most digits are collected instead of every cell's.
    for digits in range(7, 0, -1):
        pattern = rb'<c r="[A-Z]{1,3}([0-9]{%d})"' % digits
        found = re.findall(pattern, sheet_xml)
        if found:
            return max(int(number) for number in found)
    return 1


def _zip_require_size(archive: zipfile.ZipFile, max_uncompressed_bytes: int) -> None:
    total = sum(info.file_size for info in archive.infolist())
    if total > max_uncompressed_bytes:
        raise ImportFileError(
            ImportErrorCode.FILE_TOO_LARGE,
            f"The workbook unpacks to {total / 1e6:.0f} MB, more than the limit of "
            f"{max_uncompressed_bytes / 1e6:.0f} MB. Split the data into smaller files or "
            "save it as CSV, which has no such limit.",
        )


def _sheet_require_ratio(info: zipfile.ZipInfo) -> None:
    if info.file_size < RATIO_CHECK_MIN_BYTES:
        return
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > MAX_SHEET_COMPRESSION_RATIO:
        raise ImportFileError(
            ImportErrorCode.FILE_TOO_LARGE,
            f"The sheet is compressed {ratio:.0f} to 1, more than the "
            f"{MAX_SHEET_COMPRESSION_RATIO} to 1 that real data reaches, so it is rejected as "
            "a possible zip bomb. Delete "
            "empty formatted rows and columns, or save the data as CSV.",
        )


def _workbook_read(archive: zipfile.ZipFile) -> tuple[list[_SheetEntry], bool]:
    workbook = _xml_parse(archive, "xl/workbook.xml")
    targets = _relationship_targets(archive, "xl/_rels/workbook.xml.rels")

    date1904 = False
    entries = []
    for element in workbook.iter():
        tag = _local_name(element.tag)
        if tag == "workbookPr":
            date1904 = element.get("date1904", "false").lower() in ("1", "true")
        elif tag == "sheet":
            relationship = element.get(_RELATIONSHIP_ID) or element.get(_RELATIONSHIP_ID_STRICT)
            target, kind = targets.get(relationship, ("", ""))
            entries.append(
                _SheetEntry(
                    name=element.get("name", ""),
                    member=target,
                    is_worksheet=kind.endswith("/worksheet"),
                    visible=element.get("state", "visible") == "visible",
                )
            )
    return entries, date1904


def _relationship_targets(archive: zipfile.ZipFile, member: str) -> dict[str, tuple[str, str]]:
    relationships = _xml_parse(archive, member)
    base = posixpath.dirname(posixpath.dirname(member))
    targets = {}
    for element in relationships.iter():
        if _local_name(element.tag) != "Relationship":
            continue
        target = element.get("Target", "")
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(base, target))
        targets[element.get("Id", "")] = (path, element.get("Type", ""))
    return targets


def _sheet_choose(entries: list[_SheetEntry], requested: str | None) -> _SheetEntry:
    worksheets = [entry for entry in entries if entry.is_worksheet]
    if requested is None:
        if not worksheets:
            raise ImportFileError(
                ImportErrorCode.SHEET_NOT_FOUND,
                "The workbook has no worksheet with cells. Put the data on a worksheet and "
                "upload the file again.",
            )
        visible = [entry for entry in worksheets if entry.visible]
        return (visible or worksheets)[0]

    exact = [entry for entry in entries if entry.name == requested]
    folded = [
        entry for entry in entries if entry.name.strip().casefold() == requested.strip().casefold()
    ]
    matches = exact or folded
    if len(matches) == 1 and matches[0].is_worksheet:
        return matches[0]
    if len(matches) == 1:
        raise ImportFileError(
            ImportErrorCode.SHEET_NOT_FOUND,
            f"Sheet '{requested}' is a chart, not a worksheet with cells. Name a worksheet "
            f"instead: {_names_list(worksheets)}.",
        )
    raise ImportFileError(
        ImportErrorCode.SHEET_NOT_FOUND,
        f"Sheet '{requested}' was not found. The workbook has the sheets "
        f"{_names_list(worksheets)}; name one of them.",
    )


def _names_list(entries: list[_SheetEntry]) -> str:
    return ", ".join(f"'{entry.name}'" for entry in entries) or "(none)"


def _member_info(archive: zipfile.ZipFile, member: str) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(member)
    except KeyError as error:
        raise _corrupt_error(f"the sheet part {member or '(none)'} is missing") from error


def _xml_parse(archive: zipfile.ZipFile, member: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(member))
    except KeyError as error:
        raise _corrupt_error(f"the part {member} is missing") from error
    except ElementTree.ParseError as error:
        raise _corrupt_error(f"the part {member} is not valid XML: {error}") from error


def _corrupt_error(detail: str) -> ImportFileError:
    return ImportFileError(
        ImportErrorCode.FILE_CORRUPT,
        f"The workbook is damaged ({detail}). Open it in Excel or LibreOffice, save it "
        "again and upload the new file.",
    )


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
