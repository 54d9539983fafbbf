"""Error codes and the three kinds of problem an import file can have.

- ImportFileError: the whole file is unusable (a PDF, a missing required column, dates
  in two orders). The job fails before any row is written.
- RowProblem: one record cannot be read (a NUL byte, a wrong field count). It is data on
  the RawRow, so the reader carries on with the next record.
- ValueProblem: one cell does not parse (a serial in scientific notation). The value
  parsers raise it and the pipeline reports it against the row and column.
"""

from dataclasses import dataclass
from enum import StrEnum

from ops_portal.errors import DomainError


class ImportErrorCode(StrEnum):
    # The request that starts or changes a job.
    FILE_EMPTY = "file_empty"
    OPTIONS_INVALID = "options_invalid"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    NOT_RETRYABLE = "not_retryable"
    NOT_CANCELLABLE = "not_cancellable"
    PERMISSION_DENIED = "permission_denied"
    # The retention purge removed the job's file and error report.
    IMPORT_PURGED = "import_purged"

    # The job as a whole.
    WORKER_FAULT = "worker_fault"
    FILE_MISSING = "file_missing"

    # The file as a whole.
    FILE_UNSUPPORTED = "file_unsupported"
    FILE_TOO_LARGE = "file_too_large"
    FILE_CORRUPT = "file_corrupt"
    HEADER_MISSING = "header_missing"
    SHEET_NOT_FOUND = "sheet_not_found"
    COLUMN_MISSING = "column_missing"
    COLUMN_DUPLICATE = "column_duplicate"
    COLUMN_MAP_INVALID = "column_map_invalid"
    KIND_UNKNOWN = "kind_unknown"
    DATE_ORDER_CONFLICT = "date_order_conflict"
    NUMBER_STYLE_CONFLICT = "number_style_conflict"

    # One record of a CSV file.
    NUL_BYTE = "nul_byte"
    FIELD_COUNT = "field_count"
    ENCODING = "encoding"
    FIELD_TOO_LONG = "field_too_long"
    QUOTE_INVALID = "quote_invalid"

    # One cell.
    VALUE_MISSING = "value_missing"
    FORMULA_WITHOUT_VALUE = "formula_without_value"
    NUMBER_INVALID = "number_invalid"
    QUANTITY_INVALID = "quantity_invalid"
    PERCENT_INVALID = "percent_invalid"
    DATE_INVALID = "date_invalid"
    DATE_TWO_DIGIT_YEAR = "date_two_digit_year"
    SERIAL_SCIENTIFIC = "serial_scientific"
    SERIAL_ROUNDED = "serial_rounded"
    SERIAL_INVALID = "serial_invalid"
    IMEI_CHECK_DIGIT = "imei_check_digit"
    SKU_INVALID = "sku_invalid"
    BOOL_INVALID = "bool_invalid"
    STATUS_INVALID = "status_invalid"
    TEXT_TOO_LONG = "text_too_long"
    CURRENCY_INVALID = "currency_invalid"


class ImportFileError(DomainError):
    """The file cannot be imported at all. The message names what to upload instead."""

    def __init__(
        self,
        code: ImportErrorCode,
        message: str,
        *,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, code=code, field_errors=field_errors)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """The reason one record of a file could not be read into cells."""

    code: ImportErrorCode
    message: str


class ValueProblem(ValueError):
    """A cell value that does not parse. The message names the value and the fix."""

    def __init__(self, code: ImportErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
