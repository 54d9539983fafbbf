"""Recording day-end settlements and reconciling them against recorded sales."""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.access import store_check_access
from inventory.models import PaymentMethod, Sale, Store
from settlements.errors import SettlementError, SettlementErrorCode
from settlements.models import (
    ReconciliationStatus,
    Settlement,
    SettlementLine,
    SettlementRevision,
)

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
_SEVERITY = [ReconciliationStatus.OK, ReconciliationStatus.WARN, ReconciliationStatus.FAIL]


def settlement_record(
    *,
    actor: AbstractBaseUser,
    store: Store,
    business_date: datetime.date,
    counted: dict[str, Decimal | str | int],
    notes: str = "",
    expected_version: int | None = None,
) -> Settlement:
    """Save the amounts counted per payment method for a store and day, then reconcile.

    A store and day that already has a settlement gets its counts and notes replaced by
    these: a method left out or blank is not counted, and reconciliation compares it as
    zero. Each save adds a SettlementRevision with the counts before and after.

    ``expected_version`` is the settlement version the caller showed, 0 for none saved.
    When the saved version differs, someone else saved in between, and SettlementError
    with code STALE_VERSION is raised. None skips the check. Raises SettlementError with
    field errors; nothing is written then.
    """
    store_check_access(user=actor, store=store)
    amounts = _settlement_check_request(store=store, business_date=business_date, counted=counted)

    with transaction.atomic():
        settlement = _settlement_get_or_create_locked(store=store, business_date=business_date)
        settlement_check_version(settlement=settlement, expected_version=expected_version)
        before = settlement_snapshot(settlement=settlement)

        settlement.lines.exclude(payment_method__in=list(amounts)).delete()
        existing = {line.payment_method: line for line in settlement.lines.all()}
        for method, amount in amounts.items():
            line = existing.get(method) or SettlementLine(
                settlement=settlement, payment_method=method
            )
            line.counted_amount = amount
            line.save()
        settlement.notes = notes.strip()
        if settlement.created_by_id is None:
            settlement.created_by = actor
        settlement.save(update_fields=["notes", "created_by", "updated_at"])
        settlement = settlement_reconcile(settlement=settlement)

        settlement_revision_add(settlement=settlement, actor=actor, before=before)

    logger.info(
        "settlement.recorded id=%s store=%s date=%s status=%s version=%s",
        settlement.pk, store.code, business_date, settlement.status, settlement.version,
    )
    return settlement


@dataclass(frozen=True)
class SettlementSnapshot:
    """A settlement's counted amounts (method to amount with two decimals), status and notes."""

    counted: dict[str, str]
    status: str
    notes: str


def settlement_snapshot(*, settlement: Settlement) -> SettlementSnapshot:
    """Read the settlement's saved counts; empty for a row created in this transaction."""
    if settlement.version == 0:
        return SettlementSnapshot(counted={}, status="", notes="")
    return SettlementSnapshot(
        counted=_counted_read(settlement_id=settlement.pk),
        status=settlement.status,
        notes=settlement.notes,
    )


def _counted_read(*, settlement_id: int) -> dict[str, str]:
    lines = SettlementLine.objects.filter(settlement_id=settlement_id).order_by("payment_method")
    return {line.payment_method: f"{line.counted_amount:.2f}" for line in lines}


def settlement_revision_add(
    *, settlement: Settlement, actor: AbstractBaseUser | None, before: SettlementSnapshot
) -> SettlementRevision:
    """Count a save of the settlement's amounts: bump its version and add the revision row.

    The caller holds the settlement's row lock and has reconciled it, in one transaction.
    """
    Settlement.objects.filter(pk=settlement.pk).update(
        version=F("version") + 1, updated_by=actor, updated_at=timezone.now()
    )
    settlement.refresh_from_db(fields=["version", "updated_by", "updated_at"])
    return SettlementRevision.objects.create(
        settlement=settlement,
        version=settlement.version,
        revised_by=actor,
        counted_before=before.counted,
        counted_after=_counted_read(settlement_id=settlement.pk),
        status_before=before.status,
        status_after=settlement.status,
        notes_before=before.notes,
        notes_after=settlement.notes,
    )


def settlement_check_version(
    *, settlement: Settlement, expected_version: int | None,
    advice: str = "Its counts are now shown: check them and save again.",
) -> None:
    """Raise SettlementError STALE_VERSION when the settlement was saved after ``expected_version``.

    The caller holds the settlement's row lock. ``advice`` ends the message with how to
    see the counts saved meanwhile. None as the version skips the check.
    """
    if expected_version is None or settlement.version == expected_version:
        return
    saved_at = timezone.localtime(settlement.updated_at)
    saved_by = settlement.updated_by or settlement.created_by
    by = f" by {saved_by.get_username()}" if saved_by else ""
    raise SettlementError(
        f"The settlement of {settlement.store.code} for {settlement.business_date:%-d %b %Y} "
        f"was saved at {saved_at:%H:%M}{by} after you opened this form. {advice}",
        code=SettlementErrorCode.STALE_VERSION,
    )


def _settlement_check_request(
    *, store: Store, business_date: datetime.date, counted: dict
) -> dict[str, Decimal]:
    if not store.is_active:
        raise SettlementError(
            f"Store {store.code} is closed, so it cannot record settlements.",
            code=SettlementErrorCode.STORE_INACTIVE,
            field_errors={"store": ["This store is closed."]},
        )
    today = timezone.localdate()
    if business_date > today:
        raise SettlementError(
            f"Business date {business_date:%Y-%m-%d} is in the future. "
            f"Choose today ({today:%Y-%m-%d}) or an earlier day.",
            code=SettlementErrorCode.FUTURE_DATE,
            field_errors={"business_date": ["Choose today or an earlier day."]},
        )

    amounts: dict[str, Decimal] = {}
    field_errors: dict[str, list[str]] = {}
    for method, raw in counted.items():
        if method not in PaymentMethod.values:
            field_errors.setdefault("counted", []).append(f"Unknown payment method {method!r}.")
            continue
        if raw is None or str(raw).strip() == "":
            continue
        amount = _amount_parse(raw)
        if amount is None:
            field_errors[method] = [f"{raw!r} is not an amount. Enter zero or more, such as 120.50."]
            continue
        amounts[method] = amount
    if field_errors:
        first = next(iter(field_errors.values()))[0]
        raise SettlementError(
            f"The settlement has invalid amounts. {first}",
            code=SettlementErrorCode.INVALID_AMOUNT,
            field_errors=field_errors,
        )
    if not amounts:
        raise SettlementError(
            "Enter the counted amount of at least one payment method.",
            code=SettlementErrorCode.NO_AMOUNTS,
            field_errors={"counted": ["Enter at least one amount."]},
        )
    return amounts


def _amount_parse(raw: Decimal | str | int) -> Decimal | None:
    try:
        amount = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        return None
    return amount.quantize(CENT)


def _settlement_get_or_create_locked(*, store: Store, business_date: datetime.date) -> Settlement:
    """Return the store's settlement of the day, row-locked, creating it when missing.

    The store row is locked first, so writers of one store's settlements queue up behind
    each other. Catching the unique-constraint error of a racing insert instead would not
    do on InnoDB: each loser keeps a shared lock on the duplicate key, and two of them then
    deadlock when they ask for the exclusive lock.
    """
    Store.objects.select_for_update().filter(pk=store.pk).values_list("pk", flat=True).get()
    settlement, _created = (
        Settlement.objects.select_for_update()
        .select_related("store", "created_by", "updated_by")
        .get_or_create(store=store, business_date=business_date, defaults={"version": 0})
    )
    return settlement


def settlement_reconcile(*, settlement: Settlement) -> Settlement:
    """Compare each counted amount with the sales recorded for the store and day.

    Each method, and the settlement as a whole, gets OK when the absolute difference is
    within SETTLEMENT_TOLERANCE_OK, WARN within SETTLEMENT_TOLERANCE_WARN and FAIL beyond.
    A method with sales but no count is compared as counted zero.
    """
    expected = _sales_by_method(store_id=settlement.store_id, business_date=settlement.business_date)

    with transaction.atomic():
        lines = {line.payment_method: line for line in settlement.lines.select_for_update()}
        for method in expected:
            if method not in lines:
                lines[method] = SettlementLine(
                    settlement=settlement, payment_method=method, counted_amount=Decimal("0")
                )
        worst = ReconciliationStatus.OK
        for method, line in lines.items():
            line.expected_amount = expected.get(method, Decimal("0"))
            line.difference = line.counted_amount - line.expected_amount
            line.status = reconciliation_status(difference=line.difference)
            line.save()
            worst = max(worst, line.status, key=_SEVERITY.index)

        settlement.status = worst
        settlement.counted_total = sum((line.counted_amount for line in lines.values()), Decimal("0"))
        settlement.expected_total = sum(expected.values(), Decimal("0"))
        settlement.reconciled_at = timezone.now()
        settlement.save(
            update_fields=["status", "counted_total", "expected_total", "reconciled_at", "updated_at"]
        )
    return settlement


def reconciliation_status(*, difference: Decimal) -> ReconciliationStatus:
    """Classify a counted-minus-expected difference by the configured tolerances."""
    gap = abs(difference)
    if gap <= settings.SETTLEMENT_TOLERANCE_OK:
        return ReconciliationStatus.OK
    if gap <= settings.SETTLEMENT_TOLERANCE_WARN:
        return ReconciliationStatus.WARN
    return ReconciliationStatus.FAIL


def business_day_bounds(business_date: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """Return the start (inclusive) and end (exclusive) of a business day in local time."""
    start = timezone.make_aware(datetime.datetime.combine(business_date, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(business_date + datetime.timedelta(days=1), datetime.time.min)
    )
    return start, end


def _sales_by_method(*, store_id: int, business_date: datetime.date) -> dict[str, Decimal]:
    start, end = business_day_bounds(business_date)
    rows = (
        Sale.objects.filter(store_id=store_id, sold_at__gte=start, sold_at__lt=end)
        .values("payment_method")
        .annotate(amount=Sum("total"))
    )
    return {row["payment_method"]: row["amount"] or Decimal("0") for row in rows}
