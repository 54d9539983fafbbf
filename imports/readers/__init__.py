"""File readers of the import pipeline: CSV, TSV and XLSX to a header and raw rows.

Nothing here touches the database; the pipeline streams `open_table(path).rows_iter()`
and parses the cells with `imports.values`.
"""

from pathlib import Path

from imports.problems import ImportFileError, RowProblem
from imports.readers.csv_table import CsvTable, csv_table_open
from imports.readers.detect import file_kind_detect
from imports.readers.table import Cell, FormulaWithoutValue, RawRow, Table, column_letter
from imports.readers.xlsx_table import (
    CALAMINE_MAX_SHEET_BYTES,
    MAX_UNCOMPRESSED_BYTES,
    XlsxTable,
    xlsx_table_open,
)

__all__ = [
    "Cell",
    "CsvTable",
    "FormulaWithoutValue",
    "ImportFileError",
    "RawRow",
    "RowProblem",
    "Table",
    "XlsxTable",
    "column_letter",
    "file_kind_detect",
    "open_table",
]


def open_table(
    path: Path,
    *,
    sheet: str | None = None,
    max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES,
    calamine_max_sheet_bytes: int = CALAMINE_MAX_SHEET_BYTES,
) -> Table:
    """Open a CSV, TSV or XLSX file for import and read its header.

    The kind comes from the content, not the name. `sheet` names the worksheet of a
    workbook (default: the first visible one) and is ignored for CSV. The two limits
    apply to XLSX only: the total uncompressed size of the workbook, and the sheet XML
    size up to which the faster, memory-bound calamine engine is used.
    Raises ImportFileError when the file cannot be imported at all.
    """
    path = Path(path)
    if file_kind_detect(path) == "xlsx":
        return xlsx_table_open(
            path,
            sheet=sheet,
            max_uncompressed_bytes=max_uncompressed_bytes,
            calamine_max_sheet_bytes=calamine_max_sheet_bytes,
        )
    return csv_table_open(path)
