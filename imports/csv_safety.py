"""Neutralise cells that a spreadsheet would run as a formula, for every CSV the portal writes.

A cell starting with =, +, -, @, a tab or a carriage return is evaluated by Excel,
LibreOffice and Google Sheets when the CSV is opened, which lets an imported value
such as =HYPERLINK(...) act in the reader's spreadsheet (CSV or formula injection).
A leading apostrophe makes the spreadsheet show the text as it is.

Write such files with the csv module's default CRLF line terminator: with an LF
terminator, Python 3.12's writer leaves a CR inside a cell unquoted, and readers then
split the record there.
"""

import re

from imports.readers.table import Cell, cell_text

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Signed numbers such as -5, -2.50, +1,5 or -1E-3 open as numbers, not formulas, and
# stay unchanged so that exported amounts keep working in the spreadsheet.
_SIGNED_NUMBER = re.compile(r"[+-]\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?")


def csv_safe_cell(value: Cell) -> str:
    """Return the cell as text for a CSV file, with an apostrophe before formula-like text."""
    text = cell_text(value)
    if text.startswith(_FORMULA_STARTS) and not _SIGNED_NUMBER.fullmatch(text):
        return "'" + text
    return text
