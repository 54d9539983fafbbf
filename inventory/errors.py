"""Error codes and domain errors of stock, transfers, sales and prices."""

from enum import StrEnum

from ops_portal.errors import DomainError


class InventoryErrorCode(StrEnum):
    STORE_NOT_FOUND = "store_not_found"
    STORE_INACTIVE = "store_inactive"
    STORE_ACCESS_DENIED = "store_access_denied"
    SAME_STORE = "same_store"
    NO_LINES = "no_lines"
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_SERIAL = "unknown_serial"
    SERIAL_REQUIRED = "serial_required"
    SERIAL_NOT_AVAILABLE = "serial_not_available"
    SERIAL_ALREADY_SOLD = "serial_already_sold"
    SERIAL_AT_OTHER_STORE = "serial_at_other_store"
    SERIAL_REPEATED = "serial_repeated"
    INSUFFICIENT_STOCK = "insufficient_stock"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_DISCOUNT = "invalid_discount"
    INVALID_PAYMENT_METHOD = "invalid_payment_method"
    NO_PRICE = "no_price"
    TRANSFER_ALREADY_RECEIVED = "transfer_already_received"


class InventoryError(DomainError):
    """A stock, transfer, sale or price rule rejected the request.

    ``problems`` lists every failing line, so a form can show them all at once.
    """

    def __init__(
        self,
        message: str,
        *,
        code: InventoryErrorCode,
        field_errors: dict[str, list[str]] | None = None,
        problems: list["InventoryError"] | None = None,
    ) -> None:
        super().__init__(message, code=code, field_errors=field_errors)
        self.problems = problems or []

    @classmethod
    def from_problems(cls, problems: list["InventoryError"]) -> "InventoryError":
        """Combine the failures of several lines into one error that lists them all."""
        if len(problems) == 1:
            return problems[0]
        field_errors: dict[str, list[str]] = {}
        for problem in problems:
            for field, messages in problem.field_errors.items():
                field_errors.setdefault(field, []).extend(messages)
        message = " ".join(problem.message for problem in problems)
        return cls(message, code=problems[0].code, field_errors=field_errors, problems=problems)

    def as_dict(self) -> dict:
        data = super().as_dict()
        if self.problems:
            data["problems"] = [
                {"code": str(problem.code), "message": problem.message}
                for problem in self.problems
            ]
        return data
