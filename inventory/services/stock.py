"""Stock level locking and the ledger rows that record every change of stock."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q

from inventory.access import store_check_access
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import (
    MovementKind,
    Product,
    StockBucket,
    StockLevel,
    StockMovement,
    Store,
)


def stock_levels_lock(
    *, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock levels of (store id, product id) pairs, creating missing ones at zero.

    Existing rows are locked first, in primary-key order, so two transactions that lock
    overlapping sets wait for each other instead of deadlocking. Inserting first would
    not do: InnoDB takes a shared lock on each duplicate key that INSERT IGNORE skips, and
    two such shared locks deadlock when both transactions then ask for the exclusive one.
    The caller must be inside transaction.atomic().
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    locked = _stock_levels_select_for_update(wanted)
    missing = wanted - locked.keys()
    if missing:
        StockLevel.objects.bulk_create(
            [StockLevel(store_id=store_id, product_id=product_id) for store_id, product_id in sorted(missing)],
            ignore_conflicts=True,
        )
        locked |= _stock_levels_select_for_update(missing)
    return locked


def _stock_levels_select_for_update(
    pairs: set[tuple[int, int]],
) -> dict[tuple[int, int], StockLevel]:
    condition = Q()
    for store_id, product_id in pairs:
        condition |= Q(store_id=store_id, product_id=product_id)
    levels = StockLevel.objects.select_for_update().filter(condition).order_by("pk")
    return {(level.store_id, level.product_id): level for level in levels}


def stock_change(
    *,
    level: StockLevel,
    bucket: StockBucket,
    quantity: int,
    kind: MovementKind,
    **cause,
) -> StockMovement:
    """Apply a signed change to a locked stock level and return its unsaved ledger row.

    ``cause`` contains the ledger's cause fields (actor, sale, transfer, serial_unit,
    import_job_id, import_row, note). The caller holds the level's row lock, saves the
    level with stock_levels_save() and bulk-creates the returned rows.
    """
    before = getattr(level, bucket)
    after = before + quantity
    setattr(level, bucket, after)
    movement = StockMovement(
        store_id=level.store_id,
        product_id=level.product_id,
        kind=kind,
        bucket=bucket,
        quantity=quantity,
        before=before,
        after=after,
        **cause,
    )
    # Not a model field: stock_levels_save() updates the level by primary key with it.
    movement.stock_level_pk = level.pk
    return movement


def stock_levels_save(*, movements: list[StockMovement]) -> None:
    """Write the net change of each touched level with F() and append the ledger rows.

    Each UPDATE finds its level by primary key, whose row lock the caller holds. Finding
    it by (store, product) would also lock that unique index's entry, which a concurrent
    stock_levels_lock() may hold while it waits for the primary key: a deadlock on MySQL
    and MariaDB.
    """
    deltas: dict[tuple[int, str], int] = {}
    for movement in movements:
        key = (movement.stock_level_pk, movement.bucket)
        deltas[key] = deltas.get(key, 0) + movement.quantity
    for (level_pk, bucket), delta in sorted(deltas.items()):
        if delta:
            StockLevel.objects.filter(pk=level_pk).update(**{bucket: F(bucket) + delta})
    StockMovement.objects.bulk_create(movements)


def stock_level_adjust(
    *,
    actor: AbstractBaseUser | None,
    store: Store,
    product: Product,
    on_hand: int,
    note: str,
) -> StockMovement | None:
    """Set a product's on-hand quantity at a store by a manual correction.

    Serialized products are rejected: their on-hand follows their units. Returns the ledger
    row, or None when the quantity was already right.
    """
    if on_hand < 0:
        raise InventoryError(
            f"On-hand quantity {on_hand} is invalid. Enter zero or more.",
            code=InventoryErrorCode.INVALID_QUANTITY,
            field_errors={"on_hand": ["Enter zero or more."]},
        )
    if product.is_serialized:
        raise InventoryError(
            f"SKU {product.sku} is serialized: change its units instead of its quantity.",
            code=InventoryErrorCode.SERIAL_REQUIRED,
        )

    if actor is not None:
        store_check_access(user=actor, store=store)

    with transaction.atomic():
        level = stock_levels_lock(pairs=[(store.pk, product.pk)])[(store.pk, product.pk)]
        delta = on_hand - level.on_hand
        if delta == 0:
            return None
        movement = stock_change(
            level=level,
            bucket=StockBucket.ON_HAND,
            quantity=delta,
            kind=MovementKind.MANUAL_CORRECTION,
            actor=actor,
            note=note[:255],
        )
        stock_levels_save(movements=[movement])
    return movement
