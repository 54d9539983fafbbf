"""Inventory API operations: thin wrappers around selectors and services."""

from django.http import HttpRequest
from ninja import Router

from inventory.schemas import StoreOut
from inventory.selectors import store_list_for_user

router = Router(tags=["stores"])


@router.get("/stores", response=list[StoreOut], url_name="store-list")
def store_list(request: HttpRequest) -> list:
    """List the active stores the caller may act on."""
    return list(store_list_for_user(user=request.user))
