"""Identifiers and short codes: serials and IMEIs, SKUs, statuses, yes/no, currencies, text."""

import math
import re

from imports.problems import ImportErrorCode, ValueProblem
from imports.readers.table import Cell, cell_text
from imports.values.cells import value_require, value_shown
from ops_portal.imei import imei_is_valid, luhn_check_digit

# Excel keeps 15 significant digits, so a number cell with more digits was rounded.
SPREADSHEET_DIGITS = 15

SERIAL_PATTERN = re.compile(r"[A-Za-z0-9\-/.]{4,64}")
SKU_MAX_LENGTH = 64
SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 \-_./#+]*")

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_WHOLE_WITH_ZEROS = re.compile(r"(\d+)\.0+")

TRUE_WORDS = frozenset({"yes", "true", "1", "y", "x"})
FALSE_WORDS = frozenset({"no", "false", "0", "n"})

# Serial unit statuses and the words people use for them, compared without case,
# spaces, underscores and hyphens.
STATUS_WORDS = {
    "instock": "in_stock",
    "available": "in_stock",
    "onhand": "in_stock",
    "reserved": "reserved",
    "hold": "reserved",
    "onhold": "reserved",
    "damaged": "damaged",
    "broken": "damaged",
    "defective": "damaged",
    "transferred": "transferred",
    "intransit": "transferred",
    "sold": "sold",
}

_STATUS_SEPARATORS = re.compile(r"[\s_\-]+")


def serial_parse(value: Cell) -> str:
    """Parse a serial number or IMEI into its text.

    Spaces are removed. A 15-digit serial must pass the IMEI check digit. Number cells
    give their digits unless the spreadsheet rounded them (more than 15 digits, or a
    fraction), and text in scientific notation is rejected because digits were lost.
    """
    value = value_require(value, "Serial")
    if isinstance(value, bool):
        raise _serial_invalid(value)
    if isinstance(value, (int, float)) and not (math.isfinite(value) and value >= 0):
        raise _serial_invalid(value)
    if isinstance(value, int):
        serial = _digits_require_exact(value, str(value))
    elif isinstance(value, float):
        whole = value.is_integer() and value < 10**SPREADSHEET_DIGITS
        serial = _digits_require_exact(value, str(int(value)) if whole else None)
    elif isinstance(value, str):
        serial = _serial_from_text(value)
    else:
        raise _serial_invalid(value)

    if len(serial) == 15 and serial.isdecimal():
        if not imei_is_valid(serial):
            raise ValueProblem(
                ImportErrorCode.IMEI_CHECK_DIGIT,
                f"IMEI {serial} has a wrong check digit: for these first 14 digits it is "
                f"{luhn_check_digit(serial[:14])}. Check the number for typing errors.",
            )
        return serial
    if not SERIAL_PATTERN.fullmatch(serial):
        raise _serial_invalid(value)
    return serial


def sku_parse(value: Cell) -> str:
    """Parse a SKU: 1 to 64 characters, starting with a letter or digit.

    Then letters, digits, spaces and - _ . / # + follow. Whole-number cells give their
    digits.
    """
    value = value_require(value, "SKU")
    if isinstance(value, bool):
        raise _sku_invalid(value)
    if isinstance(value, float):
        if not (
            math.isfinite(value) and value.is_integer() and abs(value) < 10**SPREADSHEET_DIGITS
        ):
            raise ValueProblem(
                ImportErrorCode.SKU_INVALID,
                f"SKU {value_shown(value)} is stored as a number with a fraction or with more "
                f"than {SPREADSHEET_DIGITS} digits, so it is not the SKU as typed. Format the "
                "SKU column as text, enter the SKUs again and import again.",
            )
        value = int(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise _sku_invalid(value)

    sku = value.strip()
    if _SCIENTIFIC.fullmatch(sku):
        raise ValueProblem(
            ImportErrorCode.SKU_INVALID,
            f"SKU {sku} is a number in scientific notation, which loses digits. Export the "
            "SKU column as text and import again.",
        )
    if len(sku) > SKU_MAX_LENGTH:
        raise ValueProblem(
            ImportErrorCode.SKU_INVALID,
            f"SKU '{value_shown(sku)}' has {len(sku)} characters, more than the "
            f"{SKU_MAX_LENGTH} allowed. Shorten it.",
        )
    if not SKU_PATTERN.fullmatch(sku):
        raise _sku_invalid(sku)
    return sku


def bool_parse(value: Cell) -> bool:
    """Parse yes/no, true/false, 1/0, y/n, or x for yes (as a tick in a column)."""
    value = value_require(value, "Yes/no value")
    if isinstance(value, bool):
        return value
    word = cell_text(value).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueProblem(
        ImportErrorCode.BOOL_INVALID,
        f"'{value_shown(value)}' is not a yes/no value. Write yes or no; true/false, 1/0, "
        "y/n and x for yes work too.",
    )


def status_parse(value: Cell) -> str:
    """Parse a serial unit status into in_stock, reserved, damaged, transferred or sold."""
    value = value_require(value, "Status")
    word = _STATUS_SEPARATORS.sub("", cell_text(value).strip().casefold())
    try:
        return STATUS_WORDS[word]
    except KeyError:
        raise ValueProblem(
            ImportErrorCode.STATUS_INVALID,
            f"Status '{value_shown(value)}' is unknown. Write in_stock (or available), "
            "reserved, damaged, transferred or sold.",
        ) from None


def currency_parse(value: Cell) -> str:
    """Parse a three-letter ISO 4217 currency code, returned in capitals."""
    value = value_require(value, "Currency")
    code = cell_text(value).strip().upper()
    if len(code) == 3 and code.isascii() and code.isalpha():
        return code
    raise ValueProblem(
        ImportErrorCode.CURRENCY_INVALID,
        f"Currency '{value_shown(value)}' is not a three-letter ISO 4217 code. Write a code "
        "such as EUR or USD.",
    )


def text_parse(value: Cell, *, max_length: int) -> str:
    """Return the cell as trimmed text of at most `max_length` characters."""
    text = cell_text(value_require(value, "Text")).strip()
    if len(text) > max_length:
        raise ValueProblem(
            ImportErrorCode.TEXT_TOO_LONG,
            f"Text '{value_shown(text)}' has {len(text)} characters, more than the "
            f"{max_length} allowed. Shorten it.",
        )
    return text


def _digits_require_exact(value: Cell, digits: str | None) -> str:
    if digits is None or len(digits) > SPREADSHEET_DIGITS:
        raise ValueProblem(
            ImportErrorCode.SERIAL_ROUNDED,
            f"Serial {value_shown(value)} was stored as a number with more than "
            f"{SPREADSHEET_DIGITS} digits or with a fraction, so the spreadsheet rounded it. "
            "Format the serial column as text, enter the serials again and import again.",
        )
    return digits


def _serial_from_text(text: str) -> str:
    serial = "".join(text.split())
    if _SCIENTIFIC.fullmatch(serial):
        raise ValueProblem(
            ImportErrorCode.SERIAL_SCIENTIFIC,
            f"Serial {serial} lost digits to scientific notation. Export the serial column "
            "as text and import again.",
        )

    # "358984206643275.0" is a number cell exported as text, and its digits are exact
    # up to the 15 that a spreadsheet keeps.
    whole = _WHOLE_WITH_ZEROS.fullmatch(serial)
    if whole:
        return _digits_require_exact(serial, whole.group(1))
    return serial


def _serial_invalid(value: Cell) -> ValueProblem:
    return ValueProblem(
        ImportErrorCode.SERIAL_INVALID,
        f"Serial '{value_shown(value)}' is invalid. A serial has 4 to 64 characters: letters, "
        "digits, hyphens, slashes and dots.",
    )


def _sku_invalid(value: Cell) -> ValueProblem:
    return ValueProblem(
        ImportErrorCode.SKU_INVALID,
        f"SKU '{value_shown(value)}' is invalid. A SKU starts with a letter or digit and "
        "contains only letters, digits, spaces and - _ . / # +.",
    )
