"""The table that every reader returns: a header and a stream of raw rows."""

import datetime
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imports.problems import ImportErrorCode, ImportFileError, RowProblem


@dataclass(frozen=True, slots=True)
class FormulaWithoutValue:
    """A formula cell saved without its result, as files written by scripts often are.

    Reading it as empty or as 0 would import a wrong value, so the value parsers reject it.
    """

    formula: str = ""

    def __str__(self) -> str:
        """Return the formula as a spreadsheet shows it in the formula bar."""
        return f"={self.formula}"


Cell = (
    str
    | int
    | float
    | bool
    | datetime.datetime
    | datetime.date
    | datetime.time
    | datetime.timedelta
    | FormulaWithoutValue
    | None
)


@dataclass(slots=True)
class RawRow:
    """One data record of a file, before any value is parsed.

    `number` is the spreadsheet row number for XLSX (the header being row 1) and, for
    CSV, the physical line on which the record starts (the header being line 1).
    `cells` has one entry per header column. CSV cells are strings, "" when empty;
    XLSX cells are typed and None when empty. When `error` is set, the record could not
    be split into columns and `cells` contains what was read, possibly with another length.
    """

    number: int
    cells: list[Cell]
    error: RowProblem | None = None


class Table(ABC):
    """A file opened for import: its header and a way to stream its data rows.

    `rows_iter()` opens the file again on each call, so the pipeline can read once to
    count and detect formats and again to validate.
    """

    path: Path
    header: list[str]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None
    date1904: bool = False

    @abstractmethod
    def rows_iter(self) -> Iterator[RawRow]:
        """Yield every data row after the header; empty rows are skipped."""

    def close(self) -> None:
        """Release what the table keeps in memory between passes; rows_iter() still works."""

    def row_count(self) -> int:
        """Count the data rows by streaming the file, rows with a problem included."""
        count = 0
        for _ in self.rows_iter():
            count += 1
        return count


def column_letter(index: int) -> str:
    """Return the spreadsheet letters of a 0-based column index (0 -> A, 27 -> AB)."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def cell_text(value: Cell) -> str:
    """Return a cell as text, with numbers and dates written as a spreadsheet shows them.

    An empty cell and a formula without a saved value both give "".
    """
    if value is None or isinstance(value, FormulaWithoutValue):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def header_require_names(header: list[str], position: str) -> None:
    """Raise ImportFileError when the first record contains no column names at all.

    A header of numbers only is the first data row of a file exported without a header.
    `position` names where the header was found, for example "Line 1" or "Row 3".
    """
    if any(any(char.isalpha() for char in name) for name in header):
        return

    names = ", ".join(name for name in header[:6] if name.strip())
    raise ImportFileError(
        ImportErrorCode.HEADER_MISSING,
        f"{position} should name the columns but contains only {names or 'empty cells'}. "
        "Add a header row with column names such as sku and qty above the data.",
    )
