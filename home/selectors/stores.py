"""Store selection on Home: the user's stores and the one they chose last."""

from django.http import HttpRequest

from home.models import HomePreference
from inventory.models import Store
from inventory.selectors import store_list_for_user

# The session caches the saved preference, so most requests read no preference row.
SESSION_STORE_KEY = "home.store_id"
_REQUEST_CACHE = "_home_store_selection"


def store_selected_for_request(request: HttpRequest) -> tuple[list[Store], Store | None]:
    """Return the user's active stores and the one they chose last, or the first.

    The choice comes from the session, else from the user's saved HomePreference. A choice
    of a store the user may no longer see (membership removed, store closed) is ignored.
    The result is cached on the request, so the context processor and views share it.
    """
    cached = getattr(request, _REQUEST_CACHE, None)
    if cached is not None:
        return cached

    stores = list(store_list_for_user(user=request.user))
    wanted = request.session.get(SESSION_STORE_KEY)
    if wanted is None and stores:
        # 0 matches no store: it caches "no preference saved" for the session.
        wanted = _preference_store_id(request.user) or 0
        request.session[SESSION_STORE_KEY] = wanted

    selected = next((store for store in stores if store.pk == wanted), None)
    if selected is None and stores:
        selected = stores[0]
    setattr(request, _REQUEST_CACHE, (stores, selected))
    return stores, selected


def store_selection_remember(request: HttpRequest, store: Store) -> None:
    """Put a store the user just chose into the session cache of this request and later ones."""
    request.session[SESSION_STORE_KEY] = store.pk
    if hasattr(request, _REQUEST_CACHE):
        delattr(request, _REQUEST_CACHE)


def _preference_store_id(user) -> int | None:
    return (
        HomePreference.objects.filter(user=user).values_list("store_id", flat=True).first()
    )
