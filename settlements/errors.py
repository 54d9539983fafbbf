"""Error codes and domain errors of settlements."""

from enum import StrEnum

from ops_portal.errors import DomainError


class SettlementErrorCode(StrEnum):
    FUTURE_DATE = "future_date"
    NO_AMOUNTS = "no_amounts"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_PAYMENT_METHOD = "invalid_payment_method"
    STORE_INACTIVE = "store_inactive"
    STALE_VERSION = "stale_version"


class SettlementError(DomainError):
    """A settlement rule rejected the request; nothing was written."""
