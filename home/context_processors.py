"""Template context every portal page shares: the user's stores, the selected one, the currency."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from home.selectors.stores import store_selected_for_request


def portal(request: HttpRequest) -> dict:
    context = {"portal_currency": settings.PORTAL_CURRENCY}
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return context
    # Lazy, so pages that never show the store selector (the admin, error reports) run no
    # store queries; store_selected_for_request caches its result on the request.
    context.update(
        portal_stores=SimpleLazyObject(lambda: store_selected_for_request(request)[0]),
        portal_store=SimpleLazyObject(lambda: store_selected_for_request(request)[1]),
    )
    return context
