"""Read-only queries on stores, products, stock and prices that feed pages and the API."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from inventory.access import store_ids_for_user, stores_for_user, user_sees_all_stores
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import (
    PriceListEntry,
    Product,
    Sale,
    SaleLine,
    SerialStatus,
    SerialUnit,
    StockLevel,
    Store,
    Transfer,
    TransferLine,
)
from ops_portal.errors import NotFoundError

CENT = Decimal("0.01")


def store_list_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Store]:
    """Return the active stores the user may act on, ordered by code."""
    return stores_for_user(user).filter(is_active=True).order_by("code")


def store_list_active() -> QuerySet[Store]:
    """Return every active store, ordered by code: the stores a transfer may go to."""
    return Store.objects.filter(is_active=True).order_by("code")


def store_get_active(*, store_id: int | str, field: str = "store") -> Store:
    """Fetch an active store by id without a membership check, for a transfer's destination.

    Raises InventoryError with STORE_NOT_FOUND, its field error under ``field``.
    """
    try:
        return store_list_active().get(pk=int(store_id))
    except (Store.DoesNotExist, TypeError, ValueError):
        raise InventoryError(
            f"Store {store_id} was not found among the active stores.",
            code=InventoryErrorCode.STORE_NOT_FOUND,
            field_errors={field: [f"Unknown or closed store {store_id}."]},
        ) from None


def store_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, store_id: int | str | None = None, code: str = ""
) -> Store:
    """Fetch a store by id or code on behalf of the user, checking their right to it.

    Raises InventoryError with STORE_NOT_FOUND both when the store does not exist and when
    the user may not see it, so ids of other stores cannot be probed.
    """
    stores = stores_for_user(user)
    try:
        if code:
            return stores.get(code__iexact=code.strip())
        return stores.get(pk=int(store_id))
    except (Store.DoesNotExist, TypeError, ValueError):
        label = code or store_id
        raise InventoryError(
            f"Store {label} was not found among your stores.",
            code=InventoryErrorCode.STORE_NOT_FOUND,
            field_errors={"store": [f"Unknown store {label}."]},
        ) from None


def sku_key(sku: str) -> str:
    """Return the form of a SKU that matching compares: SKUs match in any letter case."""
    return sku.casefold()


def products_with_skus(skus: Iterable[str], queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Return the products whose SKU is one of ``skus`` in any letter case.

    On MySQL and MariaDB the SKU column's collation (utf8mb4_unicode_ci, as the deployment
    guide creates the database) compares case-insensitively, through the unique index.
    SQLite compares text by its bytes, so there the lowered SKUs are asked for too.
    Callers match the rows to the requested SKUs by sku_key().

    NOTE: a MySQL database created with a case-sensitive collation matches SKUs only as
    written.
    """
    skus = set(skus)
    queryset = Product.objects.all() if queryset is None else queryset
    if connection.vendor == "mysql":
        return queryset.filter(sku__in=skus)
    return queryset.annotate(sku_lower=Lower("sku")).filter(
        Q(sku__in=skus) | Q(sku_lower__in={sku.lower() for sku in skus})
    )


def product_find(*, query: str) -> tuple[Product | None, SerialUnit | None]:
    """Resolve a SKU, barcode or serial to its product and, for a serial, its unit."""
    query = query.strip()
    if not query:
        return None, None
    unit = SerialUnit.objects.select_related("product", "store").filter(serial=query).first()
    if unit is not None:
        return unit.product, unit
    product = Product.objects.filter(sku=query).first()
    if product is None:
        product = next(
            (found for found in products_with_skus([query]).order_by("pk")
             if sku_key(found.sku) == sku_key(query)),
            None,
        )
    if product is None:
        product = Product.objects.filter(barcode=query).order_by("pk").first()
    return product, None


def _lookup_or_raise(query: str) -> tuple[Product, SerialUnit | None]:
    product, unit = product_find(query=query)
    if product is None:
        raise InventoryError(
            f"No product or serial matches {query.strip()!r}. "
            "Check the SKU, barcode or serial and try again.",
            code=InventoryErrorCode.UNKNOWN_SKU,
            field_errors={"query": ["No product or serial matches this value."]},
        )
    return product, unit


@dataclass(frozen=True)
class EffectivePrice:
    product: Product
    price: Decimal
    discount_percent: Decimal
    currency: str
    price_list_id: int
    price_list_name: str
    source: str

    @property
    def final_price(self) -> Decimal:
        """Price after the list's discount, rounded half up to cents."""
        factor = (Decimal(100) - self.discount_percent) / Decimal(100)
        return (self.price * factor).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def discount_amount(self) -> Decimal:
        return self.price - self.final_price


def effective_price_get(
    *, product: Product, store: Store, on: datetime.date
) -> EffectivePrice | None:
    """Return the price of the highest-priority list valid for the store on the date.

    A list is valid when it is active, its validity dates include the date, and it has no
    store scope or the given store. Ties in priority go to the newest list.
    """
    entry = (
        PriceListEntry.objects.select_related("price_list")
        .filter(
            product=product,
            price_list__is_active=True,
            price_list__valid_from__lte=on,
        )
        .filter(Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gte=on))
        .filter(Q(price_list__store__isnull=True) | Q(price_list__store=store))
        .order_by("-price_list__priority", "-price_list__created_at", "-price_list__id")
        .first()
    )
    if entry is None:
        return None
    return EffectivePrice(
        product=product,
        price=entry.price,
        discount_percent=entry.discount_percent,
        currency=entry.price_list.currency,
        price_list_id=entry.price_list_id,
        price_list_name=entry.price_list.name,
        source=entry.source or entry.price_list.source,
    )


def price_find(*, query: str, store: Store, on: datetime.date) -> EffectivePrice:
    """Find the effective price of a SKU, barcode or serial at a store on a date.

    Raises InventoryError when nothing matches the query or no valid list prices it.
    """
    product, _unit = _lookup_or_raise(query)
    price = effective_price_get(product=product, store=store, on=on)
    if price is None:
        raise InventoryError(
            f"SKU {product.sku} has no valid price at store {store.code} on "
            f"{on:%d %b %Y}. Ask back office to add it to a price list.",
            code=InventoryErrorCode.NO_PRICE,
            field_errors={"query": ["No valid price for this product."]},
        )
    return price


@dataclass(frozen=True)
class StoreStock:
    store: Store
    on_hand: int
    inbound: int
    sellable: int
    units_by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StockFindResult:
    product: Product
    stores: list[StoreStock]
    unit: SerialUnit | None = None

    @property
    def total_on_hand(self) -> int:
        return sum(row.on_hand for row in self.stores)


def stock_find(
    *, query: str, user: AbstractBaseUser | AnonymousUser
) -> StockFindResult:
    """Find where a SKU, barcode or serial is: quantity per store, and the unit's status.

    Only the user's stores are listed. A serial in a store the user may not see is reported
    as not found, so serials of other stores cannot be probed.
    """
    product, unit = _lookup_or_raise(query)
    sees_all = user_sees_all_stores(user)
    stores = None if sees_all else list(stores_for_user(user).values_list("id", flat=True))
    if unit is not None and stores is not None and unit.store_id not in stores:
        raise InventoryError(
            f"No product or serial matches {query.strip()!r} in your stores.",
            code=InventoryErrorCode.UNKNOWN_SERIAL,
            field_errors={"query": ["Not found in your stores."]},
        )

    levels = StockLevel.objects.select_related("store").filter(product=product)
    units = SerialUnit.objects.filter(product=product)
    if stores is not None:
        levels = levels.filter(store_id__in=stores)
        units = units.filter(store_id__in=stores)
    levels = levels.filter(Q(on_hand__gt=0) | Q(inbound__gt=0)).order_by("store__code")

    status_counts: dict[int, dict[str, int]] = {}
    if product.is_serialized:
        for row in units.values("store_id", "status").annotate(count=Count("id")):
            status_counts.setdefault(row["store_id"], {})[row["status"]] = row["count"]

    rows = [
        StoreStock(
            store=level.store,
            on_hand=level.on_hand,
            inbound=level.inbound,
            sellable=(
                status_counts.get(level.store_id, {}).get(SerialStatus.IN_STOCK, 0)
                if product.is_serialized
                else level.on_hand
            ),
            units_by_status=status_counts.get(level.store_id, {}),
        )
        for level in levels
    ]
    return StockFindResult(product=product, stores=rows, unit=unit)


def transfer_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, transfer_id: int | str
) -> Transfer:
    """Fetch a transfer with its stores and lines if it leaves or reaches one of the user's stores.

    Raises NotFoundError both when the transfer does not exist and when the user may not
    see it, so ids of other stores' transfers cannot be probed.
    """
    transfers = Transfer.objects.select_related(
        "from_store", "to_store", "created_by", "received_by"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=TransferLine.objects.select_related("product", "serial_unit").order_by("pk"),
        )
    )
    store_ids = store_ids_for_user(user)
    if store_ids is not None:
        transfers = transfers.filter(Q(from_store_id__in=store_ids) | Q(to_store_id__in=store_ids))
    try:
        return transfers.get(pk=int(transfer_id))
    except (Transfer.DoesNotExist, TypeError, ValueError):
        raise NotFoundError(
            f"Transfer {transfer_id} was not found among the transfers of your stores."
        ) from None


def sale_get_for_user(*, user: AbstractBaseUser | AnonymousUser, sale_id: int | str) -> Sale:
    """Fetch a sale with its store and lines if it was recorded at one of the user's stores.

    Raises NotFoundError both when the sale does not exist and when the user may not see it.
    """
    sales = Sale.objects.select_related("store", "created_by").prefetch_related(
        Prefetch(
            "lines",
            queryset=SaleLine.objects.select_related("product", "serial_unit").order_by(
                "position", "pk"
            ),
        )
    )
    store_ids = store_ids_for_user(user)
    if store_ids is not None:
        sales = sales.filter(store_id__in=store_ids)
    try:
        return sales.get(pk=int(sale_id))
    except (Sale.DoesNotExist, TypeError, ValueError):
        raise NotFoundError(
            f"Sale {sale_id} was not found among the sales of your stores."
        ) from None
