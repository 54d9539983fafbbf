"""Home: the single landing page of the portal."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from home.selectors.stores import SESSION_STORE_KEY, store_overview_for_store, store_selected_for_request
from inventory.errors import InventoryError
from inventory.selectors import store_get_for_user


def home_index(request: HttpRequest) -> HttpResponse:
    store_id = request.GET.get("store")
    if store_id:
        try:
            store = store_get_for_user(user=request.user, store_id=store_id)
        except InventoryError as error:
            return render(request, "home/index.html", {"error": error.message}, status=404)
        request.session[SESSION_STORE_KEY] = store.pk
        return redirect("home:index")

    _stores, store = store_selected_for_request(request)
    overview = store_overview_for_store(store=store) if store else None
    return render(request, "home/index.html", {"store": store, "overview": overview})
