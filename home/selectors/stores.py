"""Reads that feed the Home page."""

from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from inventory.models import Sale, StockLevel, Store
from inventory.selectors import store_list_for_user
from settlements.services import business_day_bounds

SESSION_STORE_KEY = "home.store_id"
_REQUEST_CACHE = "_home_store_selection"


def store_selected_for_request(request: HttpRequest) -> tuple[list[Store], Store | None]:
    """Return the user's active stores and the one selected in the session, or the first."""
    cached = getattr(request, _REQUEST_CACHE, None)
    if cached is not None:
        return cached
    stores = list(store_list_for_user(user=request.user))
    wanted = request.session.get(SESSION_STORE_KEY)
    selected = next((store for store in stores if store.pk == wanted), None)
    if selected is None and stores:
        selected = stores[0]
    setattr(request, _REQUEST_CACHE, (stores, selected))
    return stores, selected


def store_overview_for_store(*, store: Store) -> dict:
    """Return the headline numbers of one store: on-hand, inbound and today's sales."""
    totals = StockLevel.objects.filter(store=store).aggregate(
        on_hand=Sum("on_hand"), inbound=Sum("inbound")
    )
    start, end = business_day_bounds(timezone.localdate())
    sales = Sale.objects.filter(store=store, sold_at__gte=start, sold_at__lt=end).aggregate(
        amount=Sum("total")
    )
    return {
        "on_hand": totals["on_hand"] or 0,
        "inbound": totals["inbound"] or 0,
        "sold_today": sales["amount"] or 0,
    }
