"""Parsers that turn raw cells into typed values, and detectors of per-file formats.

Each parser returns a value or raises ValueProblem with a code and a message that
names the value and the fix. Parsers reject empty cells (code value_missing), so the
pipeline checks `cell_is_empty` first for optional fields. The number style and the
date order are decided once per file: feed the detectors the cells of the number and
date columns during the first pass, then call `decide()`.
"""

from imports.values.cells import cell_is_empty
from imports.values.codes import (
    bool_parse,
    currency_parse,
    serial_parse,
    sku_parse,
    status_parse,
    text_parse,
)
from imports.values.dates import (
    DateOrder,
    DateOrderDecision,
    DateOrderDetector,
    date_parse,
    datetime_parse,
    excel_serial_to_datetime,
)
from imports.values.numbers import (
    NumberStyle,
    NumberStyleDecision,
    NumberStyleDetector,
    decimal_parse,
    percent_parse,
    quantity_parse,
)

__all__ = [
    "DateOrder",
    "DateOrderDecision",
    "DateOrderDetector",
    "NumberStyle",
    "NumberStyleDecision",
    "NumberStyleDetector",
    "bool_parse",
    "cell_is_empty",
    "currency_parse",
    "date_parse",
    "datetime_parse",
    "decimal_parse",
    "excel_serial_to_datetime",
    "percent_parse",
    "quantity_parse",
    "serial_parse",
    "sku_parse",
    "status_parse",
    "text_parse",
]
