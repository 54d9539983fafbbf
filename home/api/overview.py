"""The store overview as JSON: KPIs, low stock and stock by category of one store."""

import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema

from home.selectors.overview import (
    business_date_parse,
    low_stock_for_store,
    overview_kpis_for_store,
    stock_by_category_for_store,
)
from home.selectors.stores import store_selected_for_request
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import Store
from inventory.selectors import store_get_for_user
from inventory.schemas import StoreOut

router = Router(tags=["home"])

LOW_STOCK_MAX_ROWS = 500


class OverviewOut(Schema):
    store: StoreOut
    date: datetime.date
    on_hand: int
    inbound: int
    sold_amount: Decimal
    sold_units: int
    sales: int
    low_stock: int


class TransferSourceOut(Schema):
    store_id: int
    store_code: str
    surplus: int
    quantity: int
    user_may_act: bool


class LowStockOut(Schema):
    sku: str
    name: str
    category: str
    on_hand: int
    inbound: int
    threshold: int
    transfer_from: TransferSourceOut | None


class LowStockListOut(Schema):
    store: StoreOut
    count: int
    items: list[LowStockOut]


class CategoryStockOut(Schema):
    category: str
    skus: int
    on_hand: int
    inbound: int
    low_stock: int


class StockByCategoryOut(Schema):
    store: StoreOut
    categories: list[CategoryStockOut]
    total: CategoryStockOut


def _store(request: HttpRequest, raw: str | None) -> Store:
    """Resolve ?store= for the caller; without it, the store they chose on Home."""
    if raw:
        return store_get_for_user(user=request.user, store_id=raw)
    _stores, store = store_selected_for_request(request)
    if store is None:
        raise InventoryError(
            "You are not a member of any store. Ask back office to add you to your store.",
            code=InventoryErrorCode.STORE_NOT_FOUND,
            field_errors={"store": ["No store is available to you."]},
        ).with_status(404)
    return store


def _not_found(error: InventoryError) -> InventoryError:
    return error.with_status(404) if error.code == InventoryErrorCode.STORE_NOT_FOUND else error


@router.get("/home/overview", response=OverviewOut, url_name="home-overview")
def overview_get(request: HttpRequest, store: str | None = None, date: str | None = None):
    """KPIs of a store on a business date (default today): on-hand, inbound, sold, low stock."""
    try:
        selected = _store(request, store)
    except InventoryError as error:
        raise _not_found(error) from None
    business_date = business_date_parse(date)
    kpis = overview_kpis_for_store(store=selected, business_date=business_date)
    return {
        "store": selected,
        "date": business_date,
        "on_hand": kpis.on_hand,
        "inbound": kpis.inbound,
        "sold_amount": kpis.sold_amount,
        "sold_units": kpis.sold_units,
        "sales": kpis.sales,
        "low_stock": kpis.low_stock,
    }


@router.get("/home/low-stock", response=LowStockListOut, url_name="home-low-stock")
def low_stock_list(request: HttpRequest, store: str | None = None):
    """Products at or under their low-stock threshold, largest shortfall first (up to 500).

    transfer_from names the store with the most stock above its own threshold, preferring
    stores the caller may act on, and the quantity to request from it.
    """
    try:
        selected = _store(request, store)
    except InventoryError as error:
        raise _not_found(error) from None
    rows = low_stock_for_store(store=selected, user=request.user, limit=LOW_STOCK_MAX_ROWS)
    items = [
        {
            "sku": row.sku,
            "name": row.name,
            "category": row.category,
            "on_hand": row.on_hand,
            "inbound": row.inbound,
            "threshold": row.threshold,
            "transfer_from": row.source and {
                "store_id": row.source.store_id,
                "store_code": row.source.store_code,
                "surplus": row.source.surplus,
                "quantity": row.source.quantity,
                "user_may_act": row.source.user_may_act,
            },
        }
        for row in rows
    ]
    return {"store": selected, "count": len(items), "items": items}


@router.get(
    "/home/stock-by-category", response=StockByCategoryOut, url_name="home-stock-by-category"
)
def stock_by_category_get(request: HttpRequest, store: str | None = None):
    """On-hand, inbound, SKU and low-stock counts of a store per product category, with totals."""
    try:
        selected = _store(request, store)
    except InventoryError as error:
        raise _not_found(error) from None
    stock = stock_by_category_for_store(store=selected)
    return {"store": selected, "categories": stock.rows, "total": stock.total}
