"""Which stores a user may read and act on.

Every page, endpoint, websocket, event stream and service resolves store access through
these functions: superusers, back office and operations reach every store, store staff
only the stores they are members of, and anyone else none.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import Store
from inventory.roles import ALL_STORE_ROLES

_CACHE_ATTRIBUTE = "_ops_portal_sees_all_stores"


def user_sees_all_stores(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return whether the user reaches every store (superuser, back office or operations)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = user.groups.filter(name__in=ALL_STORE_ROLES).exists()
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def stores_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Store]:
    """Return the stores the user may read and act on, active or not, ordered by code."""
    if user_sees_all_stores(user):
        return Store.objects.all()
    if not user.is_authenticated or not user.is_active:
        return Store.objects.none()
    return Store.objects.filter(memberships__user=user)


def store_ids_for_user(user: AbstractBaseUser | AnonymousUser) -> set[int] | None:
    """Return the ids of the user's stores, or None when the user reaches every store."""
    if user_sees_all_stores(user):
        return None
    return set(stores_for_user(user).values_list("id", flat=True))


def store_check_access(*, user: AbstractBaseUser | AnonymousUser, store: Store) -> None:
    """Raise InventoryError unless the user may act on the store."""
    if user_sees_all_stores(user):
        return
    if user.is_authenticated and stores_for_user(user).filter(pk=store.pk).exists():
        return
    raise InventoryError(
        f"You are not a member of store {store.code}. Ask back office for access.",
        code=InventoryErrorCode.STORE_ACCESS_DENIED,
    )
