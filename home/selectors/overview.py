"""Reads behind Home's store overview: KPIs, stock by category, low stock and drill-downs.

Each read is one or two aggregate queries over the store's stock levels, sales or
transfers. The stock-level reads scan every product of the store, so they are cached
until the store's stock next changes.
"""

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import Count, F, IntegerField, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone
from redis.exceptions import RedisError

from imports.models import RUNNING_STATUSES, ImportJob
from inventory.access import store_ids_for_user
from inventory.models import (
    MovementKind,
    Product,
    Sale,
    SaleLine,
    StockLevel,
    StockMovement,
    Store,
    Transfer,
    TransferStatus,
)
from inventory.selectors import CENT
from ops_portal.errors import DomainError
from settlements.services import business_day_bounds

UNCATEGORISED = "Uncategorised"
# How long a cached read of a store's stock levels lives at most; see _stock_cached.
STOCK_CACHE_SECONDS = 300
# While a stock import changes a store, a read of its stock levels made at most this many
# seconds ago is reused; see _stock_cached.
IMPORT_REUSE_SECONDS = 30
# A cache that is down (Redis stopped, a full disk under the file cache) costs Home only
# the cached reads, which it then makes each time.
CACHE_ERRORS = (RedisError, OSError)
CACHE_FAULT_LOG_SECONDS = 60
_cache_fault_logged_at: float | None = None
T = TypeVar("T")

logger = logging.getLogger(__name__)

# The oldest business date the overview accepts; older dates are typing mistakes.
EARLIEST_DATE = datetime.date(2000, 1, 1)

# MySQL stores the threshold unsigned, and unsigned minus signed overflows below zero there,
# so arithmetic on it uses a signed copy.
_THRESHOLD = Cast("product__low_stock_threshold", IntegerField())

# A product counts as low at a store when its on-hand is at or under the product's
# threshold. A threshold of 0 means none was set, so such products are never low.
_LOW_STOCK = Q(product__low_stock_threshold__gt=0, product__is_active=True) & Q(
    on_hand__lte=F("product__low_stock_threshold")
)


class OverviewError(DomainError):
    """A filter of the store overview (store or date) is invalid."""


def business_date_parse(raw: str | None, *, today: datetime.date | None = None) -> datetime.date:
    """Parse the overview's ?date= value (YYYY-MM-DD); empty means today.

    Raises OverviewError naming the value when it is not a date, is in the future or is
    before 2000.
    """
    today = today or timezone.localdate()
    raw = (raw or "").strip()
    if not raw:
        return today
    try:
        value = datetime.date.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or len(raw) != 10:
        message = f"{raw!r} is not a date. Enter it as YYYY-MM-DD, for example {today:%Y-%m-%d}."
    elif value > today:
        message = f"{value:%Y-%m-%d} is in the future. Choose today ({today:%Y-%m-%d}) or earlier."
    elif value < EARLIEST_DATE:
        message = f"{value:%Y-%m-%d} is too early. Choose a date in {EARLIEST_DATE:%Y} or later."
    else:
        return value
    raise OverviewError(message, code="invalid_date", field_errors={"date": [message]})


@dataclass(frozen=True)
class CategoryStock:
    category: str
    skus: int
    on_hand: int
    inbound: int
    low_stock: int


@dataclass(frozen=True)
class StockByCategory:
    rows: list[CategoryStock]
    total: CategoryStock


@dataclass(frozen=True)
class SalesTotals:
    amount: Decimal
    units: int
    sales: int


@dataclass(frozen=True)
class StoreKpis:
    business_date: datetime.date
    on_hand: int
    inbound: int
    sold_amount: Decimal
    sold_units: int
    sales: int
    low_stock: int


@dataclass(frozen=True)
class TransferSource:
    """The store to request a low product from, and how many units to ask for."""

    store_id: int
    store_code: str
    store_name: str
    surplus: int
    quantity: int
    user_may_act: bool


@dataclass(frozen=True)
class LowStockRow:
    product_id: int
    sku: str
    name: str
    category: str
    on_hand: int
    inbound: int
    threshold: int
    source: TransferSource | None

    @property
    def shortfall(self) -> int:
        """Units missing to get above the threshold, before inbound stock arrives."""
        return self.threshold + 1 - self.on_hand


def stock_by_category_for_store(*, store: Store) -> StockByCategory:
    """Sum the store's stock per product category, with a total row.

    The sums are cached until the store's next ledger row (see _stock_cached), so a warm
    read costs one indexed MAX query and a cache read instead of a scan of the store's
    stock levels.
    """
    return _stock_cached(store, "by-category", lambda: _stock_by_category_read(store))


def _stock_by_category_read(store: Store) -> StockByCategory:
    rows = (
        StockLevel.objects.filter(store=store)
        .values("product__category")
        .annotate(
            sku_count=Count("id"),
            on_hand_total=Sum("on_hand"),
            inbound_total=Sum("inbound"),
            low_count=Count("id", filter=_LOW_STOCK),
        )
        .order_by("product__category")
    )
    categories = [
        CategoryStock(
            category=row["product__category"] or UNCATEGORISED,
            skus=row["sku_count"],
            on_hand=row["on_hand_total"] or 0,
            inbound=row["inbound_total"] or 0,
            low_stock=row["low_count"],
        )
        for row in rows
    ]
    total = CategoryStock(
        category="Total",
        skus=sum(row.skus for row in categories),
        on_hand=sum(row.on_hand for row in categories),
        inbound=sum(row.inbound for row in categories),
        low_stock=sum(row.low_stock for row in categories),
    )
    return StockByCategory(rows=categories, total=total)


def sales_totals_for_store(*, store: Store, business_date: datetime.date) -> SalesTotals:
    """Sum the store's sales of one business day: amount, units (net of returns), receipts."""
    start, end = business_day_bounds(business_date)
    sales = Sale.objects.filter(store=store, sold_at__gte=start, sold_at__lt=end)
    totals = sales.aggregate(amount=Sum("total"), sales=Count("id"))
    units = SaleLine.objects.filter(
        sale__store=store, sale__sold_at__gte=start, sale__sold_at__lt=end
    ).aggregate(units=Sum("quantity"))["units"]
    return SalesTotals(
        # SQLite sums decimals as floats; cents are what a sale total has.
        amount=(totals["amount"] or Decimal("0")).quantize(CENT),
        units=units or 0,
        sales=totals["sales"],
    )


def overview_kpis_for_store(
    *,
    store: Store,
    business_date: datetime.date,
    stock: StockByCategory | None = None,
) -> StoreKpis:
    """Return the overview's KPIs; pass the stock by category when it is already read."""
    stock = stock or stock_by_category_for_store(store=store)
    sales = sales_totals_for_store(store=store, business_date=business_date)
    return StoreKpis(
        business_date=business_date,
        on_hand=stock.total.on_hand,
        inbound=stock.total.inbound,
        sold_amount=sales.amount,
        sold_units=sales.units,
        sales=sales.sales,
        low_stock=stock.total.low_stock,
    )


def low_stock_for_store(
    *, store: Store, user: AbstractBaseUser | AnonymousUser, limit: int
) -> list[LowStockRow]:
    """List the store's products at or under their threshold, largest shortfall first.

    Each row names the store to request the product from: among the other active stores
    with stock above their own threshold, the ones the user may act on come first, then the
    largest surplus. A store the user may not act on is still named, with user_may_act
    False, when no other has a surplus. Home then shows a hint to ask that store instead
    of a transfer button, because the transfer service rejects a user sending from it.
    """
    levels = _stock_cached(store, f"low-stock-{limit}", lambda: _low_levels_read(store, limit))
    sources = _transfer_sources(store=store, user=user, levels=levels)
    return [
        LowStockRow(
            product_id=level["product_id"],
            sku=level["product__sku"],
            name=level["product__name"],
            category=level["product__category"] or UNCATEGORISED,
            on_hand=level["on_hand"],
            inbound=level["inbound"],
            threshold=level["threshold"],
            source=sources.get(level["product_id"]),
        )
        for level in levels
    ]


def _low_levels_read(store: Store, limit: int) -> list[dict]:
    return list(
        StockLevel.objects.filter(_LOW_STOCK, store=store)
        .annotate(threshold=_THRESHOLD)
        .annotate(shortfall=F("threshold") - F("on_hand"))
        .order_by("-shortfall", "product__sku")
        .values(
            "product_id", "product__sku", "product__name", "product__category",
            "on_hand", "inbound", "threshold",
        )[:limit]
    )


def _stock_cached(store: Store, name: str, read: Callable[[], T]) -> T:
    """Return a cached read of the store's stock levels, or read and cache it.

    Every change of stock writes a ledger row, so the key contains the time of the store's
    newest StockMovement (read from movement_store_created_idx) and changes with each sale,
    transfer or import. The store's creation time in the key keeps a reused store id from
    reading another store's entry.

    A running stock import writes ledger rows chunk by chunk, which would make nearly every
    view during it scan the store's levels again. While the newest ledger row belongs to
    a running import, a read made at most IMPORT_REUSE_SECONDS ago is returned instead,
    unless the store's ledger gained a row of another kind (a sale, transfer or
    correction) after that read. The import's last chunk shows once its job has finished.
    NOTE: changes that write no ledger row (a product's threshold or category edited, a
    bulk load) show after STOCK_CACHE_SECONDS at the latest.
    """
    newest = (
        StockMovement.objects.filter(store=store)
        .order_by("-created_at")
        .values_list("created_at", "kind", "import_job_id")
        .first()
    )
    newest_at, kind, job_id = newest or (None, "", None)
    prefix = f"home.overview:{name}:{store.pk}:{store.created_at.timestamp():.6f}"
    key = f"{prefix}:{newest_at.timestamp() if newest_at else 0:.6f}"
    recent_key = f"{prefix}:recent"
    try:
        found = cache.get_many([key, recent_key])
    except CACHE_ERRORS:
        _cache_fault_log()
        return read()
    if key in found:
        return found[key]
    if recent_key in found and kind == MovementKind.IMPORT_ADJUSTMENT:
        read_at, newest_at_read, value = found[recent_key]
        if (
            time.time() - read_at < IMPORT_REUSE_SECONDS
            and _import_running(job_id)
            and not _changes_besides_imports(store, after=newest_at_read)
        ):
            return value

    value = read()
    try:
        cache.set_many(
            {key: value, recent_key: (time.time(), newest_at, value)}, STOCK_CACHE_SECONDS
        )
    except CACHE_ERRORS:
        _cache_fault_log()
    return value


def _import_running(job_id: int | None) -> bool:
    return job_id is not None and ImportJob.objects.filter(
        pk=job_id, status__in=RUNNING_STATUSES
    ).exists()


def _changes_besides_imports(store: Store, *, after: datetime.datetime | None) -> bool:
    """Return whether the store's ledger has a row after ``after`` that no import wrote.

    The range reads only movement_store_created_idx, which contains the kind.
    """
    rows = StockMovement.objects.filter(store=store).exclude(kind=MovementKind.IMPORT_ADJUSTMENT)
    if after is not None:
        rows = rows.filter(created_at__gt=after)
    return rows.exists()


def _cache_fault_log() -> None:
    """Log that the cache failed, at most once per CACHE_FAULT_LOG_SECONDS per process."""
    global _cache_fault_logged_at
    now = time.monotonic()
    if _cache_fault_logged_at is None or now - _cache_fault_logged_at >= CACHE_FAULT_LOG_SECONDS:
        _cache_fault_logged_at = now
        logger.warning("home.cache_unavailable", exc_info=True)


def _transfer_sources(
    *, store: Store, user: AbstractBaseUser | AnonymousUser, levels: list[dict]
) -> dict[int, TransferSource]:
    if not levels:
        return {}
    needs = {
        level["product_id"]: level["threshold"] + 1 - level["on_hand"] for level in levels
    }
    candidates = (
        StockLevel.objects.filter(product_id__in=needs, store__is_active=True)
        .exclude(store=store)
        .annotate(surplus=F("on_hand") - _THRESHOLD)
        .filter(surplus__gt=0)
        .values("product_id", "store_id", "store__code", "store__name", "surplus")
    )
    user_store_ids = store_ids_for_user(user)

    def may_act(row: dict) -> bool:
        return user_store_ids is None or row["store_id"] in user_store_ids

    def rank(row: dict) -> tuple:
        # Lowest first: stores the user may act on, then the largest surplus, then the code.
        return (not may_act(row), -row["surplus"], row["store__code"])

    best: dict[int, dict] = {}
    for row in candidates:
        current = best.get(row["product_id"])
        if current is None or rank(row) < rank(current):
            best[row["product_id"]] = row

    return {
        product_id: TransferSource(
            store_id=row["store_id"],
            store_code=row["store__code"],
            store_name=row["store__name"],
            surplus=row["surplus"],
            quantity=max(1, min(needs[product_id], row["surplus"])),
            user_may_act=may_act(row),
        )
        for product_id, row in best.items()
    }


def on_hand_top_skus_for_store(*, store: Store, limit: int) -> list[StockLevel]:
    """Return the store's products with the most units on hand, with their product.

    Two queries: the top rows alone sort without a join, which MySQL would otherwise run
    from the product table, then their products by primary key.
    """
    levels = list(
        StockLevel.objects.filter(store=store, on_hand__gt=0).order_by("-on_hand", "product_id")[
            :limit
        ]
    )
    products = Product.objects.in_bulk([level.product_id for level in levels])
    for level in levels:
        level.product = products[level.product_id]
    return levels


def inbound_transfers_for_store(*, store: Store, limit: int) -> list[Transfer]:
    """Return transfers in transit to the store, newest first, with line and unit counts."""
    return list(
        Transfer.objects.filter(to_store=store, status=TransferStatus.IN_TRANSIT)
        .select_related("from_store")
        .annotate(line_count=Count("lines"), units=Sum("lines__quantity"))
        .order_by("-created_at", "-id")[:limit]
    )


def sales_for_store(*, store: Store, business_date: datetime.date, limit: int) -> list[Sale]:
    """Return the store's sales of one business day, newest first, with line and unit counts."""
    start, end = business_day_bounds(business_date)
    return list(
        Sale.objects.filter(store=store, sold_at__gte=start, sold_at__lt=end)
        .annotate(line_count=Count("lines"), units=Sum("lines__quantity"))
        .order_by("-sold_at", "-id")[:limit]
    )
