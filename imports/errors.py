"""Error codes of imports, and the errors that fail a whole job or one request."""

from enum import StrEnum

from ops_portal.errors import DomainError


class ImportErrorCode(StrEnum):
    FILE_TOO_LARGE = "file_too_large"
    FILE_TYPE = "file_type"
    FILE_EMPTY = "file_empty"
    INVALID_KIND = "invalid_kind"
    INVALID_OPTIONS = "invalid_options"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    NOT_RETRYABLE = "not_retryable"
    NOT_CANCELLABLE = "not_cancellable"
    MISSING_COLUMN = "missing_column"
    WORKER_FAULT = "worker_fault"


class ImportRequestError(DomainError):
    """The import request was rejected; no job was created or changed."""


class ImportJobFailed(Exception):
    """The file cannot be imported as a whole; the job fails with this reason."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
