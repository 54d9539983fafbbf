"""Template context every portal page shares: the user's stores, the selected one, the currency."""

from django.conf import settings
from django.http import HttpRequest

from home.selectors.stores import store_selected_for_request


def portal(request: HttpRequest) -> dict:
    context = {"portal_currency": settings.PORTAL_CURRENCY}
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return context
    stores, selected = store_selected_for_request(request)
    context.update(portal_stores=stores, portal_store=selected)
    return context
