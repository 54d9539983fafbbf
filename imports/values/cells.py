"""Helpers shared by the value parsers: empty cells, formulas without a result, display."""

import datetime
from decimal import Decimal

from imports.problems import ImportErrorCode, ValueProblem
from imports.readers.table import Cell, FormulaWithoutValue

# Maximum length of a value that messages repeat in full. Longer values are cut with
# an ellipsis.
SHOWN_MAX_CHARS = 40


def cell_is_empty(value: Cell) -> bool:
    """Return whether a cell contains nothing: None, "" or only whitespace."""
    if value is None:
        return True
    return isinstance(value, str) and not value.strip()


def value_require(value: Cell, label: str) -> Cell:
    """Return the value, or raise ValueProblem when it is empty or a formula without a result.

    `label` names the value in the message, for example "Serial".
    """
    if isinstance(value, FormulaWithoutValue):
        formula = f" {value}" if value.formula else ""
        raise ValueProblem(
            ImportErrorCode.FORMULA_WITHOUT_VALUE,
            f"The cell has the formula{formula} but no saved result. Open the file in a "
            "spreadsheet program (Excel, LibreOffice), save it there and import it again.",
        )
    if cell_is_empty(value):
        raise ValueProblem(ImportErrorCode.VALUE_MISSING, f"{label} is empty. Fill in a value.")
    return value


def value_shown(value: Cell | Decimal) -> str:
    """Return a value as a message shows it: text as written, numbers as stored."""
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, (datetime.date, datetime.time)):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > SHOWN_MAX_CHARS:
        return text[: SHOWN_MAX_CHARS - 1] + "…"
    return text
