"""Demo sales history: every active store sells on every day up to and including today."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from inventory.models import PaymentMethod, Sale, SaleLine, SerialStatus, SerialUnit
from ops_portal.demo_data.bulk import BulkInserter, IdSequence
from ops_portal.demo_data.context import DemoContext, DemoProduct, DemoStore
from ops_portal.demo_data.prices import PriceBook
from ops_portal.demo_data.stock import unit_cost

CENT = Decimal("0.01")
OPENING_HOUR = 8
CLOSING_HOUR = 21

PAYMENT_METHOD_WEIGHTS = {
    PaymentMethod.CARD: 55,
    PaymentMethod.CASH: 25,
    PaymentMethod.MOBILE: 15,
    PaymentMethod.VOUCHER: 5,
}
LINES_PER_SALE_WEIGHTS = {1: 60, 2: 28, 3: 12}
PLAIN_QUANTITY_WEIGHTS = {1: 80, 2: 15, 3: 5}
# Relative sales volume from Monday to Sunday.
WEEKDAY_FACTORS = (0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.0)
# Share of lines where the cashier gave an extra discount on top of the price list's.
MANUAL_DISCOUNT_SHARE = 0.04


def sales_seed(ctx: DemoContext) -> dict[str, int]:
    """Insert the sales with their lines, and a sold unit behind each serialized line.

    Prices follow the price lists valid on the day of the sale, so the price lists step
    must run first. Fills ctx.sales_by_day, which the settlements are reconciled against.
    """
    if ctx.price_book is None:
        raise RuntimeError("The sales step needs ctx.price_book: run price_lists_seed first.")
    rng = ctx.rng("sales")
    budgets = _line_budgets(ctx, rng)
    writer = _SalesWriter(ctx, rng, ctx.price_book)
    for day in ctx.history_dates:
        for store in ctx.active_stores:
            writer.store_day_add(store, day, line_count=budgets[(store.position, day)])
    writer.inserter.flush()

    counts = writer.inserter.counts
    return {
        "sales": counts[Sale],
        "lines": counts[SaleLine],
        "sold units": counts[SerialUnit],
    }


def _line_budgets(ctx: DemoContext, rng: random.Random) -> dict[tuple[int, datetime.date], int]:
    """Split the scale's sale lines over active stores and days, at least one per store-day.

    Busy stores and weekends get more, and the budgets add up to exactly the scale's count.
    """
    store_factors = {store.position: rng.uniform(0.6, 1.4) for store in ctx.active_stores}
    weights = {
        (store.position, day): (
            store_factors[store.position]
            * WEEKDAY_FACTORS[day.weekday()]
            * rng.uniform(0.85, 1.15)
        )
        for day in ctx.history_dates
        for store in ctx.active_stores
    }
    spare = ctx.scale.sale_lines - len(weights)
    if spare < 0:
        raise ValueError(
            f"The {ctx.scale.name} scale has {ctx.scale.sale_lines} sale lines, fewer than "
            f"its {len(weights)} store-days. Every store-day needs at least one."
        )
    total_weight = sum(weights.values())
    budgets = {key: 1 + int(spare * weight / total_weight) for key, weight in weights.items()}
    shortfall = ctx.scale.sale_lines - sum(budgets.values())
    for key in list(budgets)[:shortfall]:
        budgets[key] += 1
    return budgets


def sale_window(day: datetime.date, now: datetime.datetime) -> tuple[datetime.datetime, int]:
    """Return when sales of a day may start and how many seconds they span.

    Past days span opening hours. Today ends at ``now``, so no sale lies in the future,
    and before opening time today's sales are spread from midnight to ``now``.
    """
    opening = timezone.make_aware(datetime.datetime.combine(day, datetime.time(OPENING_HOUR)))
    closing = timezone.make_aware(datetime.datetime.combine(day, datetime.time(CLOSING_HOUR)))
    if day < timezone.localdate(now):
        return opening, int((closing - opening).total_seconds())
    if now - opening >= datetime.timedelta(minutes=30):
        return opening, int((min(closing, now) - opening).total_seconds())
    midnight = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return midnight, max(1, int((now - midnight).total_seconds()))


class _SalesWriter:
    def __init__(self, ctx: DemoContext, rng: random.Random, price_book: PriceBook) -> None:
        self._ctx = ctx
        self._rng = rng
        self._price_book = price_book
        self._sale_ids = IdSequence(Sale)
        self._unit_ids = IdSequence(SerialUnit)
        self.inserter = BulkInserter(
            SerialUnit, Sale, SaleLine, batch_size=ctx.scale.batch_size
        )

    def store_day_add(self, store: DemoStore, day: datetime.date, *, line_count: int) -> None:
        """Add the sales of one store and day, with receipt numbers in order of time."""
        sales: list[tuple[str, list[SaleLine]]] = []
        remaining = line_count
        while remaining > 0:
            size = min(_weighted(self._rng, LINES_PER_SALE_WEIGHTS), remaining)
            lines = [self._line(store, day) for _ in range(size)]
            sales.append((_weighted(self._rng, PAYMENT_METHOD_WEIGHTS), lines))
            remaining -= size

        start, seconds = sale_window(day, self._ctx.now)
        # One random() per sale keeps the draws independent of the window's length,
        # which for today depends on the time of the run.
        offsets = sorted(int(self._rng.random() * seconds) for _ in sales)
        by_method = self._ctx.sales_by_day.setdefault((store.position, day), {})
        for number, ((method, lines), offset) in enumerate(zip(sales, offsets), start=1):
            sale_id = self._sale_ids.take()
            total = sum((line.line_total for line in lines), Decimal("0"))
            self.inserter.add(Sale(
                id=sale_id,
                store_id=store.id,
                sold_at=start + datetime.timedelta(seconds=offset),
                payment_method=method,
                total=total,
                receipt_number=f"{store.code}-{day:%Y%m%d}-{number:04d}",
            ))
            for line in lines:
                line.sale_id = sale_id
                self.inserter.add(line)
            by_method[method] = by_method.get(method, Decimal("0")) + total

    def _line(self, store: DemoStore, day: datetime.date) -> SaleLine:
        """Return an unsaved sale line. A serialized line also adds its sold unit."""
        rng = self._rng
        if rng.random() < self._ctx.scale.serialized_line_share:
            product = self._ctx.products[rng.choice(self._ctx.serialized_stocked[store.position])]
            quantity = 1
            unit_id = self._sold_unit_add(store, product, day)
        else:
            product = self._ctx.products[rng.choice(self._ctx.plain_stocked[store.position])]
            quantity = _weighted(rng, PLAIN_QUANTITY_WEIGHTS)
            unit_id = None

        price, list_discount = self._price_book.price_on(
            product_position=product.position, store_position=store.position, on=day
        )
        gross = price * quantity
        discount = list_discount * quantity
        if rng.random() < MANUAL_DISCOUNT_SHARE:
            discount += ((gross - discount) * rng.choice((5, 10)) / 100).quantize(CENT)
        return SaleLine(
            product_id=product.id,
            serial_unit_id=unit_id,
            quantity=quantity,
            unit_price=price,
            discount=discount,
            line_total=gross - discount,
        )

    def _sold_unit_add(self, store: DemoStore, product: DemoProduct, day: datetime.date) -> int:
        unit_id = self._unit_ids.take()
        self.inserter.add(SerialUnit(
            id=unit_id,
            serial=self._ctx.serials.next_for(product),
            product_id=product.id,
            store_id=store.id,
            status=SerialStatus.SOLD,
            cost=unit_cost(product, self._rng),
            received_at=day - datetime.timedelta(days=self._rng.randint(1, 60)),
        ))
        return unit_id


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]
