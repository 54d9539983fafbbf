"""The base domain error that every app's errors derive from.

A domain error is fixable input from a person: views re-render the form with its
message, the API renders it as JSON with its code, and commands raise it as a
CommandError. Unexpected faults are ordinary exceptions and never use this class.
"""

from enum import StrEnum


class DomainError(Exception):
    """A business rule rejected the request; nothing was written."""

    code: StrEnum | str = "invalid"
    status_code: int = 400

    def __init__(
        self,
        message: str,
        *,
        code: StrEnum | str | None = None,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field_errors = field_errors or {}

    def with_status(self, status_code: int) -> "DomainError":
        """Set the HTTP status of the API response, for errors that are not a plain 400."""
        self.status_code = status_code
        return self

    def as_dict(self) -> dict:
        return {
            "code": str(self.code),
            "message": self.message,
            "field_errors": self.field_errors,
        }


class PermissionDeniedError(DomainError):
    """The user may not act on the object the request names."""

    code = "permission_denied"
    status_code = 403


class NotFoundError(DomainError):
    code = "not_found"
    status_code = 404
