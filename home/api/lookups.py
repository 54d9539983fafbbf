"""Find Price and Find Stock as JSON, from the same selectors as Home's lookups."""

import datetime
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from home.selectors.stores import store_selected_for_request
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import Store
from inventory.selectors import EffectivePrice, price_find, stock_find, store_get_for_user
from ops_portal.errors import DomainError

router = Router(tags=["home"])

# Lookup errors that mean "nothing matches", returned with status 404 instead of 400.
_NOT_FOUND_CODES = {
    InventoryErrorCode.UNKNOWN_SKU,
    InventoryErrorCode.UNKNOWN_SERIAL,
    InventoryErrorCode.NO_PRICE,
}


class ErrorOut(Schema):
    code: str
    message: str
    field_errors: dict[str, list[str]]


class PriceOut(Schema):
    sku: str
    name: str
    store: str
    date: datetime.date
    currency: str
    price: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    final_price: Decimal
    price_list_id: int
    price_list: str
    source: str


class StoreStockOut(Schema):
    store_id: int
    store: str
    name: str
    on_hand: int
    inbound: int
    sellable: int
    units_by_status: dict[str, int]


class UnitOut(Schema):
    serial: str
    status: str
    store: str


class StockOut(Schema):
    sku: str
    name: str
    serialized: bool
    total_on_hand: int
    stores: list[StoreStockOut]
    unit: UnitOut | None


ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}


def _query_check(q: str) -> str:
    if not q.strip():
        raise DomainError(
            "Parameter q is empty. Send a SKU, barcode or serial, such as ?q=ACC-00001.",
            code=InventoryErrorCode.UNKNOWN_SKU,
            field_errors={"q": ["Enter a SKU, barcode or serial."]},
        )
    return q


def _store_for(request: HttpRequest, store_id: int | None) -> Store:
    if store_id is not None:
        return store_get_for_user(user=request.user, store_id=store_id)
    _stores, selected = store_selected_for_request(request)
    if selected is None:
        raise InventoryError(
            "You have no active store. Ask back office to add you to a store.",
            code=InventoryErrorCode.STORE_NOT_FOUND,
            field_errors={"store": ["No store."]},
        )
    return selected


def _not_found_as_404(error: InventoryError) -> InventoryError:
    return error.with_status(404) if error.code in _NOT_FOUND_CODES else error


@router.get("/home/price", response={200: PriceOut, **ERRORS}, url_name="home-price")
def price_lookup(
    request: HttpRequest, q: str, store: int | None = None, date: datetime.date | None = None
) -> dict:
    """Return the effective price of a SKU, barcode or serial at a store on a date.

    `store` defaults to the caller's selected store and `date` to today.
    """
    store_obj = _store_for(request, store)
    on = date or timezone.localdate()
    try:
        price = price_find(query=_query_check(q), store=store_obj, on=on)
    except InventoryError as error:
        raise _not_found_as_404(error) from None
    return _price_out(price, store=store_obj, on=on)


def _price_out(price: EffectivePrice, *, store: Store, on: datetime.date) -> dict:
    return {
        "sku": price.product.sku,
        "name": price.product.name,
        "store": store.code,
        "date": on,
        "currency": price.currency,
        "price": price.price,
        "discount_percent": price.discount_percent,
        "discount_amount": price.discount_amount,
        "final_price": price.final_price,
        "price_list_id": price.price_list_id,
        "price_list": price.price_list_name,
        "source": price.source,
    }


@router.get("/home/stock", response={200: StockOut, **ERRORS}, url_name="home-stock")
def stock_lookup(request: HttpRequest, q: str, store: int | None = None) -> dict:
    """Return where a SKU, barcode or serial is: quantity and unit statuses per store.

    Without `store` every store of the caller is listed; with it only that store.
    """
    store_obj = store_get_for_user(user=request.user, store_id=store) if store is not None else None
    try:
        result = stock_find(query=_query_check(q), user=request.user)
    except InventoryError as error:
        raise _not_found_as_404(error) from None
    rows = [row for row in result.stores if store_obj is None or row.store.pk == store_obj.pk]
    unit = result.unit
    return {
        "sku": result.product.sku,
        "name": result.product.name,
        "serialized": result.product.is_serialized,
        "total_on_hand": sum(row.on_hand for row in rows),
        "stores": [
            {
                "store_id": row.store.pk,
                "store": row.store.code,
                "name": row.store.name,
                "on_hand": row.on_hand,
                "inbound": row.inbound,
                "sellable": row.sellable,
                "units_by_status": row.units_by_status,
            }
            for row in rows
        ],
        "unit": (
            {"serial": unit.serial, "status": unit.status, "store": unit.store.code}
            if unit is not None else None
        ),
    }
