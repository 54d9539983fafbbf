"""Series of the Analytics section of Home: sales per hour and day, stock movements, settlements.

Hours and days are buckets of the portal's time zone (settings.TIME_ZONE). Each selector
computes the UTC bounds of its buckets in Python, numbers the rows by bucket with a
`CASE WHEN sold_at < bound_1 THEN 0 WHEN sold_at < bound_2 THEN 1 ...` expression and
groups by that number in the database, instead of truncating timestamps in SQL.
Truncating in a time zone other than UTC needs CONVERT_TZ on MySQL and MariaDB, which
returns NULL unless the server's time zone tables are loaded (they are not on a default
MariaDB 10.11 install). Bounds from Python are exact on both databases, also on
daylight-saving days, which have 23 or 25 hours, and the range filter on the store and
time uses the indexes (store, sold_at) of sales and (store, created_at) of movements.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.utils import timezone

from inventory.models import MovementKind, Sale, StockBucket, StockMovement, Store
from settlements.models import ReconciliationStatus, SettlementLine
from settlements.services import business_day_bounds, reconciliation_status

TREND_DAYS = 7
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_SEVERITY = [ReconciliationStatus.OK, ReconciliationStatus.WARN, ReconciliationStatus.FAIL]

# Consecutive (start, end) pairs in UTC: a start is inclusive, an end exclusive.
Bounds = list[tuple[datetime.datetime, datetime.datetime]]


@dataclass(frozen=True)
class HourSales:
    start: datetime.datetime
    label: str
    amount: Decimal
    count: int


@dataclass(frozen=True)
class SalesByHour:
    date: datetime.date
    hours: list[HourSales]

    @property
    def total_amount(self) -> Decimal:
        return sum((hour.amount for hour in self.hours), ZERO)

    @property
    def total_count(self) -> int:
        return sum(hour.count for hour in self.hours)

    @property
    def busiest(self) -> HourSales | None:
        """The hour with the highest amount (the earliest on a tie), or None without sales."""
        if not self.total_count:
            return None
        return max(self.hours, key=lambda hour: (hour.amount, -hour.start.timestamp()))


@dataclass(frozen=True)
class DaySales:
    date: datetime.date
    amount: Decimal
    count: int


@dataclass(frozen=True)
class SalesTrend:
    date_from: datetime.date
    date_to: datetime.date
    days: list[DaySales]

    @property
    def total_amount(self) -> Decimal:
        return sum((day.amount for day in self.days), ZERO)

    @property
    def total_count(self) -> int:
        return sum(day.count for day in self.days)


@dataclass(frozen=True)
class KindMovements:
    kind: str
    label: str
    quantity_in: int
    quantity_out: int


@dataclass(frozen=True)
class StockMovements:
    date_from: datetime.date
    date_to: datetime.date
    kinds: list[KindMovements]

    @property
    def total_in(self) -> int:
        return sum(kind.quantity_in for kind in self.kinds)

    @property
    def total_out(self) -> int:
        return sum(kind.quantity_out for kind in self.kinds)


@dataclass(frozen=True)
class DaySettlement:
    date: datetime.date
    sales: Decimal
    counted: Decimal | None
    status: ReconciliationStatus | None

    @property
    def difference(self) -> Decimal | None:
        """Counted minus recorded sales, or None when the day has no settlement."""
        return None if self.counted is None else self.counted - self.sales

    @property
    def status_label(self) -> str:
        return self.status.label if self.status else "Not settled"


@dataclass(frozen=True)
class SettlementVsSales:
    date_from: datetime.date
    date_to: datetime.date
    days: list[DaySettlement]


def _day_range(day: datetime.date, days: int) -> list[datetime.date]:
    return [day - datetime.timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _hour_bounds(day: datetime.date) -> Bounds:
    # Step in UTC: subtracting two aware datetimes of one zone ignores a DST change between them.
    start, end = (bound.astimezone(datetime.UTC) for bound in business_day_bounds(day))
    hours = round((end - start) / datetime.timedelta(hours=1))
    return [
        (start + datetime.timedelta(hours=index), start + datetime.timedelta(hours=index + 1))
        for index in range(hours)
    ]


def _cents(amount: Decimal | None) -> Decimal:
    # SQLite returns sums without their scale (Decimal("12") for 12.00).
    return (amount or ZERO).quantize(CENT)


def _bucket_number(field: str, bounds: Bounds) -> Case:
    """Number a row by the bucket its `field` falls in. The caller filters to the whole range."""
    cases = [
        When(**{f"{field}__lt": end}, then=Value(index))
        for index, (_start, end) in enumerate(bounds)
    ]
    return Case(*cases, output_field=IntegerField())


def _sales_by_bucket(*, store: Store, bounds: Bounds) -> dict[int, dict]:
    """Return the amount and count of the store's sales per bucket number, in one query."""
    rows = (
        Sale.objects.filter(store=store, sold_at__gte=bounds[0][0], sold_at__lt=bounds[-1][1])
        .annotate(bucket=_bucket_number("sold_at", bounds))
        .values("bucket")
        .annotate(amount=Sum("total"), count=Count("id"))
        .order_by()
    )
    return {row["bucket"]: row for row in rows}


def sales_by_hour_for_store(*, store: Store, day: datetime.date) -> SalesByHour:
    """Return the amount and number of the store's sales in each hour of a business day.

    One query. Hours are local: a daylight-saving day has 23 or 25 of them.
    """
    bounds = _hour_bounds(day)
    totals = _sales_by_bucket(store=store, bounds=bounds)

    hours = []
    for index, (start, _end) in enumerate(bounds):
        row = totals.get(index, {})
        hours.append(
            HourSales(
                start=start,
                label=f"{timezone.localtime(start):%H:%M}",
                amount=_cents(row.get("amount")),
                count=row.get("count", 0),
            )
        )
    return SalesByHour(date=day, hours=hours)


def sales_trend_for_store(
    *, store: Store, day: datetime.date, days: int = TREND_DAYS
) -> SalesTrend:
    """Return the amount and number of the store's sales per business day, ending with `day`.

    One query. Returns, which are sales with a negative total, reduce the amount.
    """
    dates = _day_range(day, days)
    totals = _sales_by_bucket(store=store, bounds=[business_day_bounds(date) for date in dates])

    series = []
    for index, date in enumerate(dates):
        row = totals.get(index, {})
        series.append(
            DaySales(date=date, amount=_cents(row.get("amount")), count=row.get("count", 0))
        )
    return SalesTrend(date_from=dates[0], date_to=dates[-1], days=series)


def stock_movements_for_store(
    *, store: Store, day: datetime.date, days: int = TREND_DAYS
) -> StockMovements:
    """Return the units that came into and left the store's on-hand stock, per movement kind.

    Counts the business days ending with `day`, in one query. Inbound (in transit) rows
    of the ledger are left out: they are stock on its way, not stock in the store. Every
    kind is listed, in the order of MovementKind, with zeros when it did not occur.
    """
    dates = _day_range(day, days)
    start, _ = business_day_bounds(dates[0])
    _, end = business_day_bounds(dates[-1])
    rows = (
        StockMovement.objects.filter(
            store=store, created_at__gte=start, created_at__lt=end, bucket=StockBucket.ON_HAND
        )
        .values("kind")
        .annotate(
            quantity_in=Sum("quantity", filter=Q(quantity__gt=0)),
            quantity_out=Sum("quantity", filter=Q(quantity__lt=0)),
        )
        .order_by()
    )
    by_kind = {row["kind"]: row for row in rows}

    kinds = []
    for kind in MovementKind:
        row = by_kind.get(kind.value, {})
        kinds.append(
            KindMovements(
                kind=kind.value,
                label=kind.label,
                quantity_in=row.get("quantity_in") or 0,
                quantity_out=-(row.get("quantity_out") or 0),
            )
        )
    return StockMovements(date_from=dates[0], date_to=dates[-1], kinds=kinds)


def settlement_vs_sales_for_store(
    *, store: Store, day: datetime.date, days: int = TREND_DAYS
) -> SettlementVsSales:
    """Return the recorded sales, the counted amount and the reconciliation status per day.

    Two queries. The status applies the rule of settlement reconciliation to the sales
    recorded now: each payment method is compared on its own (a method with sales but no
    count as counted zero) and the day gets its worst method's status. So a day whose sales
    changed after its settlement was saved shows the status it would get if reconciled now.
    Days without a settlement have no counted amount and no status.
    """
    dates = _day_range(day, days)
    sales = _sales_by_day_and_method(store=store, dates=dates)
    counted = _counted_by_day_and_method(store=store, dates=dates)

    series = []
    for date in dates:
        sold = sales.get(date, {})
        day_counted = counted.get(date)
        if day_counted is None:
            series.append(
                DaySettlement(date=date, sales=sum(sold.values(), ZERO), counted=None, status=None)
            )
            continue
        series.append(
            DaySettlement(
                date=date,
                sales=sum(sold.values(), ZERO),
                counted=sum(day_counted.values(), ZERO),
                status=_worst_method_status(sold=sold, counted=day_counted),
            )
        )
    return SettlementVsSales(date_from=dates[0], date_to=dates[-1], days=series)


def _worst_method_status(
    *, sold: dict[str, Decimal], counted: dict[str, Decimal]
) -> ReconciliationStatus:
    statuses = [
        reconciliation_status(difference=counted.get(method, ZERO) - sold.get(method, ZERO))
        for method in sold.keys() | counted.keys()
    ]
    return max(statuses, key=_SEVERITY.index, default=ReconciliationStatus.OK)


def _sales_by_day_and_method(
    *, store: Store, dates: list[datetime.date]
) -> dict[datetime.date, dict[str, Decimal]]:
    bounds = [business_day_bounds(date) for date in dates]
    rows = (
        Sale.objects.filter(store=store, sold_at__gte=bounds[0][0], sold_at__lt=bounds[-1][1])
        .annotate(bucket=_bucket_number("sold_at", bounds))
        .values("bucket", "payment_method")
        .annotate(amount=Sum("total"))
        .order_by()
    )
    result: dict[datetime.date, dict[str, Decimal]] = {}
    for row in rows:
        date = dates[row["bucket"]]
        result.setdefault(date, {})[row["payment_method"]] = _cents(row["amount"])
    return result


def _counted_by_day_and_method(
    *, store: Store, dates: list[datetime.date]
) -> dict[datetime.date, dict[str, Decimal]]:
    rows = SettlementLine.objects.filter(
        settlement__store=store,
        settlement__business_date__gte=dates[0],
        settlement__business_date__lte=dates[-1],
    ).values_list("settlement__business_date", "payment_method", "counted_amount")
    result: dict[datetime.date, dict[str, Decimal]] = {}
    for business_date, method, amount in rows:
        result.setdefault(business_date, {})[method] = amount
    return result
