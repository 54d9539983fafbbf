"""Checks of a serial unit on behalf of a user, in words that fit what the user may see."""

from django.contrib.auth.models import AbstractBaseUser

from inventory.access import store_ids_for_user
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import SerialUnit, Store
from inventory.services.lines import unit_check_available


def unit_check_available_for_user(
    *, unit: SerialUnit, store: Store, user: AbstractBaseUser, field: str
) -> InventoryError | None:
    """Return an error unless the unit is in stock at the store, naming why it is not.

    A unit at another store is named with that store only when the user may see it, so
    the message never points to a store whose stock Find Stock does not show the user.
    """
    problem = unit_check_available(
        unit=unit, store_id=store.pk, store_code=store.code, field=field
    )
    if problem is None or problem.code != InventoryErrorCode.SERIAL_AT_OTHER_STORE:
        return problem

    visible = store_ids_for_user(user)
    holder = Store.objects.filter(pk=unit.store_id).only("code").first()
    if holder is not None and (visible is None or holder.pk in visible):
        return InventoryError(
            f"Serial {unit.serial} is at store {holder.code}, not at {store.code}. "
            f"Use store {holder.code} instead, or transfer the unit to {store.code} first.",
            code=InventoryErrorCode.SERIAL_AT_OTHER_STORE,
            field_errors={field: [f"At store {holder.code}, not at {store.code}."]},
        )
    return InventoryError(
        f"Serial {unit.serial} is at another store, which is not one of yours, so it is "
        f"not at {store.code}. Check the serial, or ask back office where the unit is.",
        code=InventoryErrorCode.SERIAL_AT_OTHER_STORE,
        field_errors={field: [f"At a store that is not one of yours, not at {store.code}."]},
    )
