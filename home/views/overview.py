"""Home's store overview: the section's context and the htmx drill-downs behind each KPI."""

import datetime
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from home.selectors.overview import (
    OverviewError,
    business_date_parse,
    inbound_transfers_for_store,
    low_stock_for_store,
    on_hand_top_skus_for_store,
    overview_kpis_for_store,
    sales_for_store,
    sales_totals_for_store,
    stock_by_category_for_store,
)
from home.selectors.stores import store_selected_for_request, store_selection_remember
from home.services import home_preference_store_set
from inventory.errors import InventoryError
from inventory.models import Store
from inventory.selectors import store_get_for_user

# Rows of the low-stock list shown in the overview; the drill-down shows up to the larger.
LOW_STOCK_PREVIEW_ROWS = 8
LOW_STOCK_DRILLDOWN_ROWS = 100
TOP_SKUS_ROWS = 10
INBOUND_TRANSFERS_ROWS = 25
SALES_ROWS = 50
# The drill-down panels under the KPI cards, by the name in their URL.
DRILLDOWN_LABELS = {
    "on-hand": "On-hand",
    "inbound": "Inbound",
    "sold": "Sold",
    "low-stock": "Low-Stock",
}


def overview_context(request: HttpRequest, *, store: Store, business_date: datetime.date) -> dict:
    """Build the template context of the overview section of Home."""
    stock = stock_by_category_for_store(store=store)
    kpis = overview_kpis_for_store(store=store, business_date=business_date, stock=stock)
    low_stock = low_stock_for_store(
        store=store, user=request.user, limit=LOW_STOCK_PREVIEW_ROWS
    )
    return {
        "business_date": business_date,
        "is_today": business_date == timezone.localdate(),
        "today": timezone.localdate(),
        "panel_query": _panel_query(store=store, business_date=business_date),
        "drilldown_panels": DRILLDOWN_LABELS.items(),
        "kpis": kpis,
        "stock": stock,
        "low_stock": low_stock,
        "low_stock_more": kpis.low_stock - len(low_stock),
    }


def _panel_query(*, store: Store, business_date: datetime.date) -> str:
    return "?" + urlencode({"store": store.pk, "date": business_date.isoformat()})


def _panel_on_hand(request: HttpRequest, store: Store, business_date: datetime.date) -> dict:
    return {
        "title": "On-hand by category and top SKUs",
        "stock": stock_by_category_for_store(store=store),
        "top_levels": on_hand_top_skus_for_store(store=store, limit=TOP_SKUS_ROWS),
    }


def _panel_inbound(request: HttpRequest, store: Store, business_date: datetime.date) -> dict:
    return {
        "title": "Transfers in transit to this store",
        "transfers": inbound_transfers_for_store(store=store, limit=INBOUND_TRANSFERS_ROWS),
    }


def _panel_sold(request: HttpRequest, store: Store, business_date: datetime.date) -> dict:
    totals = sales_totals_for_store(store=store, business_date=business_date)
    sales = sales_for_store(store=store, business_date=business_date, limit=SALES_ROWS)
    title = (
        "Sales today"
        if business_date == timezone.localdate()
        else f"Sales on {business_date.day} {business_date:%b %Y}"
    )
    return {"title": title, "totals": totals, "sales": sales, "sales_more": totals.sales - len(sales)}


def _panel_low_stock(request: HttpRequest, store: Store, business_date: datetime.date) -> dict:
    rows = low_stock_for_store(store=store, user=request.user, limit=LOW_STOCK_DRILLDOWN_ROWS)
    return {"title": "Low-stock SKUs", "low_stock": rows, "row_limit": LOW_STOCK_DRILLDOWN_ROWS}


PANELS: dict[str, Callable[[HttpRequest, Store, datetime.date], dict]] = {
    "on-hand": _panel_on_hand,
    "inbound": _panel_inbound,
    "sold": _panel_sold,
    "low-stock": _panel_low_stock,
}


@require_GET
def overview_panel(request: HttpRequest, panel: str) -> HttpResponse:
    """Render one KPI's drill-down for ?store= (default: the selected store) and ?date=."""
    build = PANELS.get(panel)
    if build is None:
        raise Http404(f"No overview panel {panel!r}; the panels are {', '.join(PANELS)}.")
    chosen = _store_and_date_from_query(request)
    if isinstance(chosen, HttpResponse):
        return chosen
    store, business_date = chosen

    context = build(request, store, business_date)
    context.update(
        store=store, business_date=business_date, is_today=business_date == timezone.localdate()
    )
    return render(request, f"home/partials/overview/{panel}.html", context)


@require_GET
def overview_section(request: HttpRequest) -> HttpResponse:
    """Render the overview section for ?store= and ?date=, which reloads it after an action."""
    chosen = _store_and_date_from_query(request)
    if isinstance(chosen, HttpResponse):
        return chosen
    store, business_date = chosen

    context = overview_context(request, store=store, business_date=business_date)
    context["store"] = store
    return render(request, "home/partials/overview.html", context)


@require_POST
def store_select(request: HttpRequest) -> HttpResponse:
    """Remember the store chosen in the top bar for this user, then go back where they were."""
    raw = request.POST.get("store", "")
    try:
        store = store_get_for_user(user=request.user, store_id=raw)
    except InventoryError as error:
        context = {"error": f"{error.message} Choose one of the stores in the list."}
        return render(request, "home/index.html", context, status=404)
    if not store.is_active:
        context = {"error": f"Store {store.code} is closed. Choose one of the stores in the list."}
        return render(request, "home/index.html", context, status=404)

    home_preference_store_set(user=request.user, store=store)
    store_selection_remember(request, store)

    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home:index")
    return redirect(target)


def _store_from_query(request: HttpRequest) -> Store | None:
    raw = request.GET.get("store", "").strip()
    if raw:
        return store_get_for_user(user=request.user, store_id=raw)
    _stores, store = store_selected_for_request(request)
    return store


def _store_and_date_from_query(request: HttpRequest) -> tuple[Store, datetime.date] | HttpResponse:
    """Return the store and date of ?store= and ?date=, or the error response for them."""
    try:
        store = _store_from_query(request)
        business_date = business_date_parse(request.GET.get("date"))
    except InventoryError as error:
        return _panel_error(request, error.message, status=404)
    except OverviewError as error:
        return _panel_error(request, error.message, status=400)
    if store is None:
        return _panel_error(request, "You are not a member of any store.", status=404)
    return store, business_date


def _panel_error(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "home/partials/overview/error.html", {"message": message}, status=status)


urlpatterns: list[URLPattern] = [
    path("store/", store_select, name="store-select"),
    path("overview/", overview_section, name="overview-section"),
    path(
        "overview/<slug:panel>/",
        overview_panel,
        name="overview-panel",
    ),
]
