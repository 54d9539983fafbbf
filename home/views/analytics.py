"""Home's analytics section: the series behind its four charts and their text summaries.

The section renders its data tables on the server, so the figures reach screen readers
and browsers without JavaScript. Once the section scrolls into view,
static/js/home/analytics.js loads Chart.js and fetches the same series from the JSON API.
"""

import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from home.selectors.analytics import (
    SalesByHour,
    SalesTrend,
    SettlementVsSales,
    StockMovements,
    sales_by_hour_for_store,
    sales_trend_for_store,
    settlement_vs_sales_for_store,
    stock_movements_for_store,
)
from home.selectors.overview import OverviewError, business_date_parse
from inventory.errors import InventoryError
from inventory.models import Store
from inventory.selectors import store_get_for_user
from settlements.models import ReconciliationStatus


@require_GET
def analytics_section(request: HttpRequest) -> HttpResponse:
    """Render the analytics section of a store the user may see, for ?store= and ?date=."""
    try:
        store = store_get_for_user(user=request.user, store_id=request.GET.get("store", ""))
        day = business_date_parse(request.GET.get("date"))
    except (InventoryError, OverviewError) as error:
        status = 404 if isinstance(error, InventoryError) else 400
        return render(request, "home/partials/analytics/error.html",
                      {"message": error.message}, status=status)
    return render(request, "home/partials/analytics/section.html",
                  analytics_context(store=store, day=day))


urlpatterns: list[URLPattern] = [
    path("analytics/", analytics_section, name="analytics-section"),
]

# API URL names of the four series, keyed by the chart that draws them.
SERIES_URL_NAMES = {
    "sales-by-hour": "api:home-analytics-sales-by-hour",
    "sales-trend": "api:home-analytics-sales-trend",
    "stock-movements": "api:home-analytics-stock-movements",
    "settlement-vs-sales": "api:home-analytics-settlement-vs-sales",
}


def analytics_context(*, store: Store, day: datetime.date) -> dict:
    """Build the template context of the analytics section: series, summaries and URLs.

    Runs five aggregate queries, one per series and two for settlements.
    """
    hourly = sales_by_hour_for_store(store=store, day=day)
    trend = sales_trend_for_store(store=store, day=day)
    movements = stock_movements_for_store(store=store, day=day)
    settlements = settlement_vs_sales_for_store(store=store, day=day)
    query = urlencode({"store": store.pk, "date": day.isoformat()})
    return {
        "store": store,
        "day": day,
        "is_today": day == timezone.localdate(),
        "time_zone": timezone.get_current_timezone_name(),
        "hourly": hourly,
        "trend": trend,
        "movements": movements,
        "settlements": settlements,
        "summaries": {
            "sales_by_hour": _hourly_summary(hourly),
            "sales_trend": _trend_summary(trend),
            "stock_movements": _movements_summary(movements),
            "settlement_vs_sales": _settlements_summary(settlements),
        },
        "series_urls": {
            key.replace("-", "_"): f"{reverse(name)}?{query}"
            for key, name in SERIES_URL_NAMES.items()
        },
    }


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _sales_count(count: int) -> str:
    return f"{count} sale" if count == 1 else f"{count} sales"


def _hourly_summary(series: SalesByHour) -> str:
    day = f"{series.date:%a %d %b %Y}"
    busiest = series.busiest
    if busiest is None:
        return f"Bar chart of sales per hour on {day}: no sales recorded."
    return (
        f"Bar chart of sales per hour on {day}: {_money(series.total_amount)} from "
        f"{_sales_count(series.total_count)}. The busiest hour starts at {busiest.label} with "
        f"{_money(busiest.amount)} from {_sales_count(busiest.count)}."
    )


def _trend_summary(series: SalesTrend) -> str:
    period = f"{series.date_from:%d %b} to {series.date_to:%d %b %Y}"
    if not series.total_count:
        return f"Line chart of sales per day from {period}: no sales recorded."
    best = max(series.days, key=lambda day: day.amount)
    return (
        f"Line chart of sales per day from {period}: {_money(series.total_amount)} from "
        f"{_sales_count(series.total_count)}. The best day is {best.date:%a %d %b} with "
        f"{_money(best.amount)}."
    )


def _movements_summary(series: StockMovements) -> str:
    period = f"{series.date_from:%d %b} to {series.date_to:%d %b %Y}"
    if not series.total_in and not series.total_out:
        return f"Bar chart of on-hand stock movements by kind from {period}: no movements."
    kinds = "; ".join(
        f"{kind.label}: {kind.quantity_in} in, {kind.quantity_out} out"
        for kind in series.kinds
        if kind.quantity_in or kind.quantity_out
    )
    return (
        f"Bar chart of on-hand stock movements by kind from {period}: "
        f"{series.total_in} units in and {series.total_out} units out. {kinds}."
    )


def _settlements_summary(series: SettlementVsSales) -> str:
    period = f"{series.date_from:%d %b} to {series.date_to:%d %b %Y}"
    counts = {status: 0 for status in ReconciliationStatus}
    unsettled = 0
    for day in series.days:
        if day.status is None:
            unsettled += 1
        else:
            counts[day.status] += 1
    statuses = ", ".join(f"{count} {status.label}" for status, count in counts.items())
    return (
        f"Bar chart of recorded sales and counted settlement amounts per day from {period}. "
        f"Reconciliation: {statuses}, {unsettled} not settled."
    )
