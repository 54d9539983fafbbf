"""Dates and date-times from text, spreadsheet date cells and Excel serial numbers.

Text dates are YYYY-MM-DD (always accepted), DD.MM.YYYY, and DD/MM/YYYY or MM/DD/YYYY
by the file's DateOrder, each with an optional time HH:MM[:SS]. Results are naive,
because attaching the store's time zone is the pipeline's job.
"""

import datetime
import math
import re
from dataclasses import dataclass
from enum import StrEnum

from imports.problems import ImportErrorCode, ImportFileError, ValueProblem
from imports.readers.table import Cell
from imports.values.cells import value_require, value_shown

_TIME = r"(?:[T ]\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*([AaPp][Mm])?)?"
_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME)
_DAY_OR_MONTH_FIRST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d+)" + _TIME)
_TIME_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_SERIAL_TEXT = re.compile(r"\d{5}(?:[.,]\d+)?")

# Excel's 1900 date system counts 1900-01-01 as day 1 and, copying Lotus 1-2-3, has
# a 29 February 1900 as day 60. Days from 61 on are counted from 1899-12-30.
_EXCEL_1900_BASE = datetime.datetime(1899, 12, 30)
_EXCEL_1900_EARLY_BASE = datetime.datetime(1899, 12, 31)
_EXCEL_1904_BASE = datetime.datetime(1904, 1, 1)
_EXCEL_SERIAL_MAX = 2958466  # 10000-01-01 in the 1900 system


class DateOrder(StrEnum):
    DMY = "dmy"  # 31/12/2024
    MDY = "mdy"  # 12/31/2024


@dataclass(frozen=True, slots=True)
class DateOrderDecision:
    order: DateOrder
    note: str | None = None


class DateOrderDetector:
    """Collect evidence for day-first or month-first dates from the date columns, row by row.

    A first part above 12 shows day-first, a second part above 12 month-first. ISO and
    dotted dates (always day-first) and typed XLSX dates decide nothing.
    """

    def __init__(self) -> None:
        self.examples: dict[DateOrder, str] = {}
        self.ambiguous_example: str | None = None

    def observe(self, value: Cell) -> None:
        if not isinstance(value, str):
            return
        text = value.strip()
        found = _DAY_OR_MONTH_FIRST.fullmatch(text)
        if not found or found.group(2) == ".":
            return
        first, second = int(found.group(1)), int(found.group(3))
        if first > 12 and second <= 12:
            self.examples.setdefault(DateOrder.DMY, text)
        elif second > 12 and first <= 12:
            self.examples.setdefault(DateOrder.MDY, text)
        elif first <= 12 and second <= 12:
            self.ambiguous_example = self.ambiguous_example or text

    def decide(self) -> DateOrderDecision:
        """Return the order for the whole file, or raise ImportFileError when dates disagree."""
        day_first = self.examples.get(DateOrder.DMY)
        month_first = self.examples.get(DateOrder.MDY)
        if day_first and month_first:
            raise ImportFileError(
                ImportErrorCode.DATE_ORDER_CONFLICT,
                f"Dates {day_first} and {month_first} put the day and the month in different "
                "places. Write all dates in one order, best as YYYY-MM-DD, and import again.",
            )
        if month_first:
            return DateOrderDecision(DateOrder.MDY)
        if day_first or not self.ambiguous_example:
            return DateOrderDecision(DateOrder.DMY)

        example = self.ambiguous_example
        read_as = date_parse(example, DateOrder.DMY)
        return DateOrderDecision(
            DateOrder.DMY,
            note=(
                f"No date in the file shows whether the day or the month comes first, so "
                f"dates were read day first: {example} is {read_as.isoformat()}."
            ),
        )


def date_parse(
    value: Cell, order: DateOrder = DateOrder.DMY, *, date1904: bool = False
) -> datetime.date:
    """Parse a date cell and drop the time of day, if any.

    Numbers are Excel date serials, counted in the 1904 system when the workbook uses it.
    Raises ValueProblem naming the value and the formats that work.
    """
    moment = _moment_parse(value, order, date1904)
    if isinstance(moment, datetime.datetime):
        return moment.date()
    return moment


def datetime_parse(
    value: Cell, order: DateOrder = DateOrder.DMY, *, date1904: bool = False
) -> datetime.datetime:
    """Parse a naive date-time cell. A date without a time gives midnight."""
    moment = _moment_parse(value, order, date1904)
    if isinstance(moment, datetime.datetime):
        return moment
    return datetime.datetime.combine(moment, datetime.time())


def excel_serial_to_datetime(serial: int | float, *, date1904: bool = False) -> datetime.datetime:
    """Convert an Excel date serial number (45292.75 is 2024-01-01 18:00) to a datetime.

    The fraction is rounded to the second. Raises ValueProblem outside 1900-01-01 (or
    1904-01-01) to 9999-12-31, and for the 29 February 1900 that Excel counts.
    """
    serial_text = value_shown(serial)
    low = 0 if date1904 else 1
    if not math.isfinite(serial) or not low <= serial < _EXCEL_SERIAL_MAX - (
        1462 if date1904 else 0
    ):
        raise _serial_not_date(serial_text)
    if not date1904 and 60 <= serial < 61:
        raise ValueProblem(
            ImportErrorCode.DATE_INVALID,
            f"Date serial {serial_text} is 29 February 1900, a day that does not exist. Enter the "
            "intended date.",
        )

    if date1904:
        base = _EXCEL_1904_BASE
    elif serial < 60:
        base = _EXCEL_1900_EARLY_BASE
    else:
        base = _EXCEL_1900_BASE
    days, fraction = divmod(serial, 1)
    try:
        return base + datetime.timedelta(days=int(days), seconds=round(fraction * 86400))
    except OverflowError:
        # The last second of 9999-12-31 rounds up into the year 10000.
        raise _serial_not_date(serial_text) from None


def _moment_parse(
    value: Cell, order: DateOrder, date1904: bool
) -> datetime.date | datetime.datetime:
    value = value_require(value, "Date")
    if isinstance(value, bool):
        raise _date_invalid(value, order)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value
    if isinstance(value, (int, float)):
        return excel_serial_to_datetime(value, date1904=date1904)
    if isinstance(value, str):
        return _text_parse(value.strip(), order)
    raise _date_invalid(value, order)


def _text_parse(text: str, order: DateOrder) -> datetime.date | datetime.datetime:
    if _TIME_ZONE.search(text) and _YEAR_FIRST.match(text):
        raise ValueProblem(
            ImportErrorCode.DATE_INVALID,
            f"Date {text} has a time zone. Write the local time of the store without one.",
        )

    found = _YEAR_FIRST.fullmatch(text)
    if found:
        year, month, day = int(found.group(1)), int(found.group(3)), int(found.group(4))
        return _moment_build(text, year, month, day, found.groups()[4:], order)

    found = _DAY_OR_MONTH_FIRST.fullmatch(text)
    if not found:
        if _SERIAL_TEXT.fullmatch(text):
            raise ValueProblem(
                ImportErrorCode.DATE_INVALID,
                f"Date {text} looks like a spreadsheet date serial number. Format the column "
                "as a date (YYYY-MM-DD) and export the file again.",
            )
        raise _date_invalid(text, order)

    first, separator, second, year_text = (
        found.group(1),
        found.group(2),
        found.group(3),
        found.group(4),
    )
    if len(year_text) == 2:
        raise ValueProblem(
            ImportErrorCode.DATE_TWO_DIGIT_YEAR,
            f"Date {text} has a two-digit year. Write the year with four digits.",
        )
    if len(year_text) != 4:
        raise _date_invalid(text, order)
    if separator == "." or order is DateOrder.DMY:
        day, month = int(first), int(second)
    else:
        month, day = int(first), int(second)
    return _moment_build(text, int(year_text), month, day, found.groups()[4:], order)


def _moment_build(
    text: str, year: int, month: int, day: int, time_parts: tuple, order: DateOrder
) -> datetime.date | datetime.datetime:
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        raise ValueProblem(
            ImportErrorCode.DATE_INVALID,
            f"Date {text} does not exist. Check the day and the month.",
        ) from None

    hour, minute, second, fraction, meridiem = time_parts
    if hour is None:
        return date

    hour = int(hour)
    if meridiem:
        if not 1 <= hour <= 12:
            raise _date_invalid(text, order)
        hour = hour % 12 + (12 if meridiem.lower() == "pm" else 0)
    microsecond = int((fraction or "0").ljust(6, "0"))
    try:
        clock = datetime.time(hour, int(minute), int(second or 0), microsecond)
    except ValueError:
        raise ValueProblem(
            ImportErrorCode.DATE_INVALID,
            f"Date {text} has an invalid time of day. Write the time as HH:MM or HH:MM:SS.",
        ) from None
    return datetime.datetime.combine(date, clock)


def _serial_not_date(serial_text: str) -> ValueProblem:
    return ValueProblem(
        ImportErrorCode.DATE_INVALID,
        f"Number {serial_text} is not a date. Enter a date in the cell, for example 2024-01-31.",
    )


def _date_invalid(value: Cell, order: DateOrder) -> ValueProblem:
    local = "DD/MM/YYYY" if order is DateOrder.DMY else "MM/DD/YYYY"
    return ValueProblem(
        ImportErrorCode.DATE_INVALID,
        f"'{value_shown(value)}' is not a date in a known format. Write dates as YYYY-MM-DD, "
        f"DD.MM.YYYY or {local}, optionally followed by a time HH:MM.",
    )
