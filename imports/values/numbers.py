"""Decimal numbers, quantities and percentages, with the file's decimal separator."""

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from imports.problems import ImportErrorCode, ImportFileError, ValueProblem
from imports.readers.table import Cell
from imports.values.cells import value_require, value_shown

# Largest quantity accepted on one line, in units. Larger counts are typing errors (an
# IMEI in the qty column) and would overflow the stock counters.
QUANTITY_MAX = 1_000_000

# Currency symbols and spaces that may surround a number ("€ 1.299,00", "19.99 $").
_SURROUNDING = "€$£¥ \u00a0\u202f"

# Characters that group thousands besides the style's own separator: spaces (plain,
# no-break, narrow no-break, thin) and apostrophes ("1'299.00" in Switzerland).
_GROUP_EXTRA = " \u00a0\u202f\u2009'’"

_SCIENTIFIC = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)[eE][+-]?\d+")
# Digits with an optional sign and decimal part, as most cells are: these need none of
# the checks for currency symbols and thousands separators.
_PLAIN_NUMBER = {
    "point": re.compile(r"-?[0-9]+(?:\.[0-9]+)?"),
    "comma": re.compile(r"-?[0-9]+(?:,[0-9]+)?"),
}
_NUMERIC = re.compile(r"[\d.,]+")


class NumberStyle(StrEnum):
    POINT = "point"  # 1,299.50
    COMMA = "comma"  # 1.299,50

    @property
    def decimal_separator(self) -> str:
        return "." if self is NumberStyle.POINT else ","

    @property
    def group_separator(self) -> str:
        return "," if self is NumberStyle.POINT else "."


@dataclass(frozen=True, slots=True)
class NumberStyleDecision:
    style: NumberStyle
    note: str | None = None


class NumberStyleDetector:
    """Collect evidence for the decimal separator from the number columns, row by row.

    "1.299,00", "199,00" and "12,5" show a decimal comma; "1,299.00" and "19.99" a
    decimal point. "1,299" and "1.299" fit both (thousands or decimals) and decide
    nothing. Typed XLSX numbers carry no separator and are skipped.
    """

    def __init__(self) -> None:
        self.examples: dict[NumberStyle, str] = {}
        self.ambiguous_example: str | None = None

    def observe(self, value: Cell) -> None:
        if not isinstance(value, str):
            return
        evidence = _separator_evidence(value)
        if evidence is None:
            return
        if evidence == "ambiguous":
            self.ambiguous_example = self.ambiguous_example or value.strip()
        else:
            self.examples.setdefault(evidence, value.strip())

    def decide(self) -> NumberStyleDecision:
        """Return the style for the whole file, or raise ImportFileError when values disagree."""
        point = self.examples.get(NumberStyle.POINT)
        comma = self.examples.get(NumberStyle.COMMA)
        if point and comma:
            raise ImportFileError(
                ImportErrorCode.NUMBER_STYLE_CONFLICT,
                f"Numbers in the file use both a decimal point ({point}) and a decimal comma "
                f"({comma}). Use one decimal separator throughout the file and import it again.",
            )
        if comma:
            return NumberStyleDecision(NumberStyle.COMMA)
        if point or not self.ambiguous_example:
            return NumberStyleDecision(NumberStyle.POINT)

        example = self.ambiguous_example
        read_as = decimal_parse(example, NumberStyle.POINT)
        return NumberStyleDecision(
            NumberStyle.POINT,
            note=(
                f"No number in the file shows which decimal separator it uses, so numbers "
                f"were read with a decimal point: {example} is {read_as}."
            ),
        )


def decimal_parse(
    value: Cell | Decimal, style: NumberStyle = NumberStyle.POINT, *, places: int | None = None
) -> Decimal:
    """Parse a number cell into a Decimal, rounded half up to `places` decimals if given.

    Text is read with the file's NumberStyle: thousands separators are checked and
    dropped, and a surrounding currency symbol is ignored. Raises ValueProblem for text
    that is not a number, NaN and infinity, scientific notation and misplaced separators.
    """
    value = value_require(value, "Number")
    if isinstance(value, bool):
        raise _number_invalid(value, style)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _number_invalid(value, style)
        # repr() is the shortest text that reads back as the same float: 161.4, not
        # the binary expansion 161.400000000000005684...
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise _number_invalid(value, style)
        number = value
    elif isinstance(value, str):
        number = _decimal_from_text(value, style)
    else:
        raise _number_invalid(value, style)

    if places is None:
        return number
    try:
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueProblem(
            ImportErrorCode.NUMBER_INVALID,
            f"Number {value_shown(value)} is too large. Check the value.",
        ) from None


def quantity_parse(value: Cell, style: NumberStyle = NumberStyle.POINT) -> int:
    """Parse a quantity: a whole number, negative for returns, at most QUANTITY_MAX units."""
    try:
        number = decimal_parse(value_require(value, "Quantity"), style)
    except ValueProblem as problem:
        if problem.code in (ImportErrorCode.VALUE_MISSING, ImportErrorCode.FORMULA_WITHOUT_VALUE):
            raise
        raise ValueProblem(ImportErrorCode.QUANTITY_INVALID, problem.message) from None

    if number != number.to_integral_value():
        raise ValueProblem(
            ImportErrorCode.QUANTITY_INVALID,
            f"Quantity {value_shown(value)} is not a whole number. Write whole units.",
        )
    if abs(number) > QUANTITY_MAX:
        raise ValueProblem(
            ImportErrorCode.QUANTITY_INVALID,
            f"Quantity {value_shown(value)} is larger than {QUANTITY_MAX:,} units. Check that "
            "the column holds quantities.",
        )
    return int(number)


def percent_parse(value: Cell, style: NumberStyle = NumberStyle.POINT) -> Decimal:
    """Parse a percentage from 0 to 100, with an optional trailing % sign.

    NOTE: a cell formatted as a percentage stores a fraction (20% is 0.2), and the
    readers do not pass number formats on, so such a cell reads as 0.2 percent.
    """
    value = value_require(value, "Percentage")
    if isinstance(value, str):
        value = value.strip().removesuffix("%")
    try:
        number = decimal_parse(value, style)
    except ValueProblem as problem:
        raise ValueProblem(ImportErrorCode.PERCENT_INVALID, problem.message) from None

    if not Decimal(0) <= number <= Decimal(100):
        raise ValueProblem(
            ImportErrorCode.PERCENT_INVALID,
            f"Percentage {value_shown(value)} is outside 0 to 100. Write a percentage "
            "between 0 and 100.",
        )
    return number


def _decimal_from_text(text: str, style: NumberStyle) -> Decimal:
    if _PLAIN_NUMBER[style].fullmatch(text):
        return Decimal(text if style is NumberStyle.POINT else text.replace(",", "."))

    stripped = text.strip().strip(_SURROUNDING)
    sign = ""
    if stripped[:1] in ("+", "-", "\u2212"):
        sign = "-" if stripped[0] != "+" else ""
        stripped = stripped[1:].lstrip()

    if _SCIENTIFIC.fullmatch(stripped):
        raise ValueProblem(
            ImportErrorCode.NUMBER_INVALID,
            f"Number {text.strip()} is in scientific notation. Write it out in full, for "
            "example 150000 instead of 1.5E+5.",
        )

    integer, separator, fraction = stripped.partition(style.decimal_separator)
    if style.decimal_separator in fraction:
        raise ValueProblem(
            ImportErrorCode.NUMBER_INVALID,
            f"Number {text.strip()} has more than one decimal separator "
            f"({style.decimal_separator}). Write at most one.",
        )
    digits = _integer_digits(integer, style, text)
    if not fraction.isdecimal() and fraction:
        raise _number_invalid(text, style)
    if not fraction.isascii() or not digits.isascii() or not (digits or fraction):
        raise _number_invalid(text, style)
    if fraction:
        return Decimal(f"{sign}{digits or '0'}.{fraction}")
    return Decimal(f"{sign}{digits}")


def _integer_digits(integer: str, style: NumberStyle, text: str) -> str:
    # Thousands separators must sit between groups of exactly three digits, so that a
    # decimal comma in a decimal-point file ("12,5") is caught instead of read as 125.
    groups = re.split(f"[{re.escape(style.group_separator + _GROUP_EXTRA)}]", integer)
    if len(groups) == 1:
        if integer and not integer.isdecimal():
            raise _number_invalid(text, style)
        return integer

    first, *rest = groups
    if not (1 <= len(first) <= 3 and first.isdecimal()) or any(
        len(group) != 3 or not group.isdecimal() for group in rest
    ):
        raise ValueProblem(
            ImportErrorCode.NUMBER_INVALID,
            f"Number {text.strip()} has a thousands separator in the wrong place. The file "
            f"is read with a decimal {_separator_word(style)}, as in {_style_example(style)}.",
        )
    return "".join(groups)


def _separator_evidence(text: str) -> NumberStyle | str | None:
    stripped = text.strip().strip(_SURROUNDING).lstrip("+-\u2212").strip()
    if not _NUMERIC.fullmatch(stripped) or not any(char.isdigit() for char in stripped):
        return None

    last_point = stripped.rfind(".")
    last_comma = stripped.rfind(",")
    if last_point >= 0 and last_comma >= 0:
        return NumberStyle.COMMA if last_comma > last_point else NumberStyle.POINT
    if last_point < 0 and last_comma < 0:
        return None

    separator = "." if last_point >= 0 else ","
    parts = stripped.split(separator)
    if len(parts) > 2:
        # The separator repeats, so it groups thousands and the other one is decimal.
        return NumberStyle.COMMA if separator == "." else NumberStyle.POINT
    whole, tail = parts
    if len(tail) == 3 and 1 <= len(whole) <= 3 and whole != "0":
        return "ambiguous"
    return NumberStyle.POINT if separator == "." else NumberStyle.COMMA


def _number_invalid(value: Cell | Decimal, style: NumberStyle) -> ValueProblem:
    return ValueProblem(
        ImportErrorCode.NUMBER_INVALID,
        f"'{value_shown(value)}' is not a number. Write digits with a decimal "
        f"{_separator_word(style)}, as in {_style_example(style)}.",
    )


def _separator_word(style: NumberStyle) -> str:
    return "point" if style is NumberStyle.POINT else "comma"


def _style_example(style: NumberStyle) -> str:
    return "1299.50" if style is NumberStyle.POINT else "1299,50"
