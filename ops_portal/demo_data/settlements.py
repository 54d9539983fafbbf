"""Demo day-end settlements of every active store for each day before today."""

import datetime
import random
from collections import Counter
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from inventory.models import PaymentMethod
from ops_portal.demo_data.bulk import BulkInserter, IdSequence
from ops_portal.demo_data.context import DemoContext
from settlements.models import ReconciliationStatus, Settlement, SettlementLine
from settlements.services import reconciliation_status

# The outcome each settlement is drawn for. Its status is then computed from the amounts
# by reconciliation_status, with the tolerances in settings.
OUTCOME_WEIGHTS = {
    ReconciliationStatus.OK: 80,
    ReconciliationStatus.WARN: 13,
    ReconciliationStatus.FAIL: 7,
}
SEVERITY = (ReconciliationStatus.OK, ReconciliationStatus.WARN, ReconciliationStatus.FAIL)
MISMATCH_NOTES = ("Recounted the cash drawer twice.", "Card terminal closed its batch late.", "")
RECONCILED_AT = datetime.time(21, 30)


def settlements_seed(ctx: DemoContext) -> dict[str, int]:
    """Insert a reconciled settlement per active store and past day, one line per method.

    Each line's expected amount is the day's sales total of its payment method, so the
    rows equal what settlement_reconcile would store for the same counts.
    """
    rng = ctx.rng("settlements")
    ids = IdSequence(Settlement)
    inserter = BulkInserter(Settlement, SettlementLine, batch_size=ctx.scale.batch_size)
    statuses: Counter[str] = Counter()
    for (store_position, day), expected in sorted(ctx.sales_by_day.items()):
        if day >= ctx.today:
            continue
        settlement_id = ids.take()
        counted = _counted_amounts(expected, rng)
        lines = [
            SettlementLine(
                settlement_id=settlement_id,
                payment_method=method,
                counted_amount=counted[method],
                expected_amount=expected[method],
                difference=counted[method] - expected[method],
                status=reconciliation_status(difference=counted[method] - expected[method]),
            )
            for method in sorted(expected)
        ]
        status = max((line.status for line in lines), key=SEVERITY.index)
        inserter.add(Settlement(
            id=settlement_id,
            store_id=ctx.stores[store_position].id,
            business_date=day,
            notes="" if status == ReconciliationStatus.OK else rng.choice(MISMATCH_NOTES),
            status=status,
            counted_total=sum(counted.values(), Decimal("0")),
            expected_total=sum(expected.values(), Decimal("0")),
            reconciled_at=timezone.make_aware(datetime.datetime.combine(day, RECONCILED_AT)),
        ))
        for line in lines:
            inserter.add(line)
        statuses[status] += 1
    inserter.flush()

    return {
        "settlements": inserter.counts[Settlement],
        "lines": inserter.counts[SettlementLine],
        **{str(status.label): statuses[status] for status in SEVERITY},
    }


def _counted_amounts(expected: dict[str, Decimal], rng: random.Random) -> dict[str, Decimal]:
    """Return counts that match the expected amounts, or miss on one method by a drawn gap."""
    counted = dict(expected)
    outcome = rng.choices(list(OUTCOME_WEIGHTS), weights=list(OUTCOME_WEIGHTS.values()))[0]
    if outcome == ReconciliationStatus.OK and rng.random() < 0.6:
        return counted

    # Cash is the method that most often does not match.
    if PaymentMethod.CASH in expected and rng.random() < 0.7:
        method = PaymentMethod.CASH
    else:
        method = rng.choice(sorted(expected))
    gap = _gap(outcome, rng)
    # Drawers are more often short than over.
    amount = expected[method] - gap if rng.random() < 0.7 else expected[method] + gap
    counted[method] = amount if amount >= 0 else expected[method] + gap
    return counted


def _gap(outcome: ReconciliationStatus, rng: random.Random) -> Decimal:
    """Return a positive difference in the tolerance band of the outcome."""
    ok_cents = int(settings.SETTLEMENT_TOLERANCE_OK * 100)
    warn_cents = int(settings.SETTLEMENT_TOLERANCE_WARN * 100)
    if outcome == ReconciliationStatus.OK:
        cents = rng.randint(0, ok_cents)
    elif outcome == ReconciliationStatus.WARN:
        cents = rng.randint(ok_cents + 1, max(ok_cents + 1, warn_cents))
    else:
        cents = rng.randint(warn_cents + 1, warn_cents * 5 + 1000)
    return Decimal(cents) / 100
