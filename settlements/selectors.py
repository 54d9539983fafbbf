"""Reads of settlements that feed pages."""

import datetime

from inventory.models import Store
from settlements.models import Settlement


def settlement_get_for_store_date(*, store: Store, business_date: datetime.date) -> Settlement | None:
    """Return the store's saved settlement of the day with its lines, or None.

    The caller has checked that the user may see the store.
    """
    return (
        Settlement.objects.filter(store=store, business_date=business_date)
        .select_related("store", "created_by", "updated_by")
        .prefetch_related("lines")
        .first()
    )
