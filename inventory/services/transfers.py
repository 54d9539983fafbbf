"""Transfers of stock between stores: send, then receive."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from inventory.access import store_check_access
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import (
    MovementKind,
    SerialStatus,
    SerialUnit,
    StockBucket,
    StockMovement,
    Store,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.services.lines import (
    LineRequest,
    ResolvedLine,
    lines_resolve,
    stock_shortfalls,
)
from inventory.services.serials import unit_check_available_for_user
from inventory.services.stock import stock_change, stock_levels_lock, stock_levels_save

logger = logging.getLogger(__name__)

TransferLineIn = LineRequest


def transfer_create(
    *,
    actor: AbstractBaseUser,
    from_store: Store,
    to_store: Store,
    lines: list[TransferLineIn],
    notes: str = "",
) -> Transfer:
    """Send stock from one store to another.

    The source loses on-hand, the destination gains inbound, sent units become in transit,
    and every change is written to the ledger, all in one transaction. Raises
    InventoryError listing every failing line; nothing is written then.
    """
    _transfer_check_stores(actor=actor, from_store=from_store, to_store=to_store)
    if not lines:
        raise InventoryError(
            "The transfer has no lines. Add a SKU or a serial.",
            code=InventoryErrorCode.NO_LINES,
            field_errors={"lines": ["Add at least one line."]},
        )

    with transaction.atomic():
        resolved, problems = lines_resolve(lines=lines)
        levels = stock_levels_lock(
            pairs={(store.pk, line.product.pk) for line in resolved for store in (from_store, to_store)}
        )
        problems += _transfer_check_lines(resolved, from_store, levels, actor)
        if problems:
            raise InventoryError.from_problems(problems)

        transfer = Transfer.objects.create(
            from_store=from_store, to_store=to_store, notes=notes.strip(), created_by=actor
        )
        TransferLine.objects.bulk_create(
            [
                TransferLine(
                    transfer=transfer, product=line.product, serial_unit=line.unit,
                    quantity=line.quantity,
                )
                for line in resolved
            ]
        )
        movements: list[StockMovement] = []
        for line in resolved:
            cause = {"actor": actor, "transfer": transfer, "serial_unit": line.unit}
            movements.append(stock_change(
                level=levels[(from_store.pk, line.product.pk)], bucket=StockBucket.ON_HAND,
                quantity=-line.quantity, kind=MovementKind.TRANSFER_OUT, **cause,
            ))
            # Each ledger row's kind is the direction for the store of that row, so the
            # destination's inbound entry is a transfer in, like its entries on receipt.
            movements.append(stock_change(
                level=levels[(to_store.pk, line.product.pk)], bucket=StockBucket.INBOUND,
                quantity=line.quantity, kind=MovementKind.TRANSFER_IN, **cause,
            ))
        stock_levels_save(movements=movements)
        unit_ids = [line.unit.pk for line in resolved if line.unit is not None]
        SerialUnit.objects.filter(pk__in=unit_ids).update(
            status=SerialStatus.TRANSFERRED, updated_at=timezone.now()
        )

    logger.info(
        "transfer.created id=%s from=%s to=%s lines=%s",
        transfer.pk, from_store.code, to_store.code, len(resolved),
    )
    return transfer


def _transfer_check_stores(*, actor: AbstractBaseUser, from_store: Store, to_store: Store) -> None:
    if from_store.pk == to_store.pk:
        raise InventoryError(
            f"A transfer needs two different stores, but both are {from_store.code}. "
            "Choose another destination.",
            code=InventoryErrorCode.SAME_STORE,
            field_errors={"to_store": ["Choose a store other than the source."]},
        )
    for field, store in (("from_store", from_store), ("to_store", to_store)):
        if not store.is_active:
            raise InventoryError(
                f"Store {store.code} is closed. Choose an active store.",
                code=InventoryErrorCode.STORE_INACTIVE,
                field_errors={field: ["This store is closed."]},
            )
    store_check_access(user=actor, store=from_store)


def _transfer_check_lines(
    resolved: list[ResolvedLine], from_store: Store, levels: dict, actor: AbstractBaseUser
) -> list[InventoryError]:
    problems: list[InventoryError] = []
    for line in resolved:
        if line.unit is not None:
            problem = unit_check_available_for_user(
                unit=line.unit, store=from_store, user=actor, field=f"lines.{line.index}",
            )
            if problem is not None:
                problems.append(problem)
    available = {
        product_id: level.on_hand
        for (store_id, product_id), level in levels.items()
        if store_id == from_store.pk
    }
    problems += stock_shortfalls(lines=resolved, available=available, store_code=from_store.code)
    return problems


def transfer_receive(*, actor: AbstractBaseUser, transfer: Transfer) -> Transfer:
    """Receive a transfer at its destination: inbound becomes on-hand, units in stock there.

    Raises InventoryError when the transfer was already received; nothing is written then.
    """
    store_check_access(user=actor, store=transfer.to_store)

    with transaction.atomic():
        # Only the transfer's row: a join to the store would lock the store's row too.
        transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if transfer.status != TransferStatus.IN_TRANSIT:
            raise InventoryError(
                f"Transfer {transfer.pk} was already received on "
                f"{timezone.localtime(transfer.received_at):%-d %b %Y %H:%M}.",
                code=InventoryErrorCode.TRANSFER_ALREADY_RECEIVED,
            )
        lines = list(transfer.lines.select_related("product").order_by("pk"))
        to_store_id = transfer.to_store_id
        levels = stock_levels_lock(pairs={(to_store_id, line.product_id) for line in lines})

        movements: list[StockMovement] = []
        for line in lines:
            level = levels[(to_store_id, line.product_id)]
            cause = {"actor": actor, "transfer": transfer, "serial_unit_id": line.serial_unit_id}
            movements.append(stock_change(
                level=level, bucket=StockBucket.INBOUND, quantity=-line.quantity,
                kind=MovementKind.TRANSFER_IN, **cause,
            ))
            movements.append(stock_change(
                level=level, bucket=StockBucket.ON_HAND, quantity=line.quantity,
                kind=MovementKind.TRANSFER_IN, **cause,
            ))
        stock_levels_save(movements=movements)
        unit_ids = [line.serial_unit_id for line in lines if line.serial_unit_id]
        SerialUnit.objects.filter(pk__in=unit_ids).update(
            store_id=to_store_id, status=SerialStatus.IN_STOCK, updated_at=timezone.now()
        )
        transfer.status = TransferStatus.RECEIVED
        transfer.received_by = actor
        transfer.received_at = timezone.now()
        transfer.save(update_fields=["status", "received_by", "received_at"])

    logger.info("transfer.received id=%s store=%s", transfer.pk, transfer.to_store.code)
    return transfer
