"""Settlements API: record a day-end count and get its reconciliation."""

import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema

from inventory.selectors import store_get_for_user
from settlements.models import Settlement
from settlements.services import settlement_record

router = Router(tags=["settlements"])


class SettlementIn(Schema):
    store: int
    business_date: datetime.date
    counted: dict[str, Decimal | str]
    notes: str = ""


class SettlementLineOut(Schema):
    payment_method: str
    counted_amount: Decimal
    expected_amount: Decimal
    difference: Decimal
    status: str


class SettlementOut(Schema):
    id: int
    store: str
    business_date: datetime.date
    status: str
    counted_total: Decimal
    expected_total: Decimal
    difference: Decimal
    notes: str
    lines: list[SettlementLineOut]


class ErrorOut(Schema):
    code: str
    message: str
    field_errors: dict[str, list[str]]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _settlement_out(settlement: Settlement) -> dict:
    return {
        "id": settlement.pk,
        "store": settlement.store.code,
        "business_date": settlement.business_date,
        "status": settlement.status,
        "counted_total": settlement.counted_total,
        "expected_total": settlement.expected_total,
        "difference": settlement.difference,
        "notes": settlement.notes,
        "lines": [
            {
                "payment_method": line.payment_method,
                "counted_amount": line.counted_amount,
                "expected_amount": line.expected_amount,
                "difference": line.difference,
                "status": line.status,
            }
            for line in settlement.lines.order_by("payment_method")
        ],
    }


@router.post("/settlements", response={200: SettlementOut, **ERRORS}, url_name="settlement-record")
def settlement_create(request: HttpRequest, payload: SettlementIn) -> dict:
    """Record the amounts counted per payment method for a store and day, then reconcile.

    `counted` maps a payment method (cash, card, mobile, voucher) to an amount. Sending the
    same store and day again replaces that settlement's counts and notes: a method left out
    or blank is not counted, and a method with sales but no count is compared as zero.
    Each save is kept as a revision, shown in the settlement's admin page.
    """
    store = store_get_for_user(user=request.user, store_id=payload.store)
    settlement = settlement_record(
        actor=request.user,
        store=store,
        business_date=payload.business_date,
        counted=payload.counted,
        notes=payload.notes,
    )
    return _settlement_out(settlement)
