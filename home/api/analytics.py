"""The series that Home's analytics charts draw, as JSON for the page and for scripts.

Every operation takes `store`, the id of one of the caller's stores, and an optional
`date` (YYYY-MM-DD), which defaults to today in the portal's time zone. The 7-day series
end with that date. Amounts are decimal strings, such as "120.50".
"""

import datetime
from decimal import Decimal
from enum import StrEnum

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from home.selectors.analytics import (
    sales_by_hour_for_store,
    sales_trend_for_store,
    settlement_vs_sales_for_store,
    stock_movements_for_store,
)
from home.selectors.overview import business_date_parse
from imports.schemas import ErrorOut
from inventory.errors import InventoryError
from inventory.models import Store
from inventory.selectors import store_get_for_user
from ops_portal.errors import DomainError

router = Router(tags=["analytics"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}


class AnalyticsErrorCode(StrEnum):
    STORE_REQUIRED = "store_required"


class AnalyticsRequestError(DomainError):
    """A series request named no store."""


class StoreRefOut(Schema):
    id: int
    code: str
    name: str


class HourSalesOut(Schema):
    start: datetime.datetime
    label: str
    amount: Decimal
    count: int


class SalesByHourOut(Schema):
    store: StoreRefOut
    date: datetime.date
    time_zone: str
    total_amount: Decimal
    total_count: int
    hours: list[HourSalesOut]


class DaySalesOut(Schema):
    date: datetime.date
    amount: Decimal
    count: int


class SalesTrendOut(Schema):
    store: StoreRefOut
    date_from: datetime.date
    date_to: datetime.date
    total_amount: Decimal
    total_count: int
    days: list[DaySalesOut]


class KindMovementsOut(Schema):
    kind: str
    label: str
    quantity_in: int
    quantity_out: int


class StockMovementsOut(Schema):
    store: StoreRefOut
    date_from: datetime.date
    date_to: datetime.date
    total_in: int
    total_out: int
    kinds: list[KindMovementsOut]


class DaySettlementOut(Schema):
    date: datetime.date
    sales: Decimal
    counted: Decimal | None
    difference: Decimal | None
    status: str | None
    status_label: str


class SettlementVsSalesOut(Schema):
    store: StoreRefOut
    date_from: datetime.date
    date_to: datetime.date
    days: list[DaySettlementOut]


def _series_request_parse(
    request: HttpRequest, store: str | None, date: str | None
) -> tuple[Store, datetime.date]:
    """Resolve the `store` and `date` query parameters of a series request.

    Raises AnalyticsRequestError (400) for a missing store, OverviewError (400) for a date
    that is unreadable, in the future or before 2000, and InventoryError (404) for a store
    that is not among the caller's stores.
    """
    if not store or not store.strip():
        raise AnalyticsRequestError(
            "The store parameter is missing. Pass the id of one of your stores, such as ?store=12.",
            code=AnalyticsErrorCode.STORE_REQUIRED,
            field_errors={"store": ["This parameter is required."]},
        )
    day = business_date_parse(date)
    try:
        found = store_get_for_user(user=request.user, store_id=store.strip())
    except InventoryError as error:
        raise error.with_status(404) from None
    return found, day


@router.get(
    "/home/analytics/sales-by-hour",
    response={200: SalesByHourOut, **ERRORS},
    url_name="home-analytics-sales-by-hour",
)
def sales_by_hour(request: HttpRequest, store: str | None = None, date: str | None = None) -> dict:
    """Amount and number of the store's sales in each hour of one business day."""
    found, day = _series_request_parse(request, store, date)
    series = sales_by_hour_for_store(store=found, day=day)
    return {
        "store": found,
        "date": series.date,
        "time_zone": timezone.get_current_timezone_name(),
        "total_amount": series.total_amount,
        "total_count": series.total_count,
        "hours": series.hours,
    }


@router.get(
    "/home/analytics/sales-trend",
    response={200: SalesTrendOut, **ERRORS},
    url_name="home-analytics-sales-trend",
)
def sales_trend(request: HttpRequest, store: str | None = None, date: str | None = None) -> dict:
    """Amount and number of the store's sales per day over the 7 days ending with the date."""
    found, day = _series_request_parse(request, store, date)
    series = sales_trend_for_store(store=found, day=day)
    return {
        "store": found,
        "date_from": series.date_from,
        "date_to": series.date_to,
        "total_amount": series.total_amount,
        "total_count": series.total_count,
        "days": series.days,
    }


@router.get(
    "/home/analytics/stock-movements",
    response={200: StockMovementsOut, **ERRORS},
    url_name="home-analytics-stock-movements",
)
def stock_movements(
    request: HttpRequest, store: str | None = None, date: str | None = None
) -> dict:
    """Units into and out of the store's on-hand stock per movement kind over 7 days."""
    found, day = _series_request_parse(request, store, date)
    series = stock_movements_for_store(store=found, day=day)
    return {
        "store": found,
        "date_from": series.date_from,
        "date_to": series.date_to,
        "total_in": series.total_in,
        "total_out": series.total_out,
        "kinds": series.kinds,
    }


@router.get(
    "/home/analytics/settlement-vs-sales",
    response={200: SettlementVsSalesOut, **ERRORS},
    url_name="home-analytics-settlement-vs-sales",
)
def settlement_vs_sales(
    request: HttpRequest, store: str | None = None, date: str | None = None
) -> dict:
    """Recorded sales, counted amount and status (ok, warn, fail) per day over 7 days."""
    found, day = _series_request_parse(request, store, date)
    series = settlement_vs_sales_for_store(store=found, day=day)
    return {
        "store": found,
        "date_from": series.date_from,
        "date_to": series.date_to,
        "days": [
            {
                "date": entry.date,
                "sales": entry.sales,
                "counted": entry.counted,
                "difference": entry.difference,
                "status": entry.status.value if entry.status else None,
                "status_label": entry.status_label,
            }
            for entry in series.days
        ],
    }
