"""Errors that reject an import request or fail a whole job; codes are in imports.problems."""

from imports.problems import ImportErrorCode
from ops_portal.errors import DomainError

__all__ = ["ImportErrorCode", "ImportJobFailed", "ImportRequestError"]


class ImportRequestError(DomainError):
    """The import request was rejected; no job was created or changed."""


class ImportJobFailed(Exception):
    """The file cannot be imported as a whole; the job fails with this reason."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
