"""Template context every portal page shares: the user's stores and the selected one."""

from django.http import HttpRequest

from home.selectors.stores import store_selected_for_request


def portal(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    stores, selected = store_selected_for_request(request)
    return {"portal_stores": stores, "portal_store": selected}
