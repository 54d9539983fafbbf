"""Demo assortments, serial units, in-transit transfers, stock levels and their ledger.

Each stock level gets an opening ledger row, and each in-transit transfer line a row at
both of its stores, so the ledger rows of a level add up to its on-hand and inbound.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from inventory.models import (
    MovementKind,
    SerialStatus,
    SerialUnit,
    StockBucket,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from ops_portal.demo_data.bulk import BulkInserter, IdSequence
from ops_portal.demo_data.context import DemoContext, DemoProduct, DemoStore

CENT = Decimal("0.01")
OPENING_NOTE = "Opening stock from demo data"

# How many units of a serialized product a store holds, by weight.
UNITS_PER_STORE_WEIGHTS = {1: 5, 2: 8, 3: 12, 4: 15, 5: 17, 6: 16, 7: 14, 8: 13}
# Units on hand are mostly in stock, and some are held for a customer or damaged.
ON_HAND_STATUS_WEIGHTS = {
    SerialStatus.IN_STOCK: 88,
    SerialStatus.RESERVED: 7,
    SerialStatus.DAMAGED: 5,
}
TRANSFER_NOTES = ("Rebalancing slow sellers", "Stock for the weekend promotion", "")


@dataclass(frozen=True, slots=True)
class _Shipment:
    """One transfer line as seen by a stock level: it left the source or is inbound."""

    transfer_id: int
    quantity: int
    unit_id: int | None = None


@dataclass
class _TransferPlan:
    id: int
    from_store: DemoStore
    to_store: DemoStore
    notes: str
    # (product position, quantity) of plain SKUs, and (product position, unit id) of serials.
    plain_lines: list[tuple[int, int]] = field(default_factory=list)
    serial_lines: list[tuple[int, int]] = field(default_factory=list)


def stock_seed(ctx: DemoContext) -> dict[str, int]:
    """Insert units, stock levels, in-transit transfers and the ledger rows behind them."""
    rng = ctx.rng("stock")
    _assortments_plan(ctx, rng)
    unit_ids = IdSequence(SerialUnit)
    transfers = _transfers_plan(ctx, rng, unit_ids)
    outgoing, incoming = _shipments_by_level(transfers)

    inserter = BulkInserter(
        Transfer, SerialUnit, TransferLine, StockLevel, StockMovement,
        batch_size=ctx.scale.batch_size,
    )
    stock = _StockWriter(ctx, rng, inserter, unit_ids, outgoing, incoming)
    # Transfers and their units go first, because the ledger rows of both stores of a
    # transfer point at them.
    for plan in transfers:
        stock.transfer_add(plan)
    for store in ctx.stores:
        for position in ctx.serialized_stocked[store.position]:
            stock.serialized_add(store, ctx.products[position])
        for position in ctx.plain_stocked[store.position]:
            stock.plain_add(store, ctx.products[position])
    inserter.flush()

    return {
        "stock levels": inserter.counts[StockLevel],
        "units": inserter.counts[SerialUnit],
        "transfers": inserter.counts[Transfer],
        "movements": inserter.counts[StockMovement],
    }


def _assortments_plan(ctx: DemoContext, rng: random.Random) -> None:
    """Choose the products each store carries, at least one serialized and one plain."""
    serialized = [product for product in ctx.products if product.is_serialized]
    plain = [product for product in ctx.products if not product.is_serialized]
    for _store in ctx.stores:
        ctx.serialized_stocked.append(
            _sample(serialized, ctx.scale.serialized_stock_share, rng)
        )
        ctx.plain_stocked.append(_sample(plain, ctx.scale.plain_stock_share, rng))


def _sample(products: list[DemoProduct], share: float, rng: random.Random) -> list[int]:
    chosen = [product.position for product in products if rng.random() < share]
    if not chosen and products:
        chosen.append(products[0].position)
    return chosen


def _transfers_plan(
    ctx: DemoContext, rng: random.Random, unit_ids: IdSequence
) -> list[_TransferPlan]:
    """Plan the in-transit transfers between active stores that both carry the products."""
    transfer_ids = IdSequence(Transfer)
    active = ctx.active_stores
    serialized_sets = [set(positions) for positions in ctx.serialized_stocked]
    plain_sets = [set(positions) for positions in ctx.plain_stocked]
    plans = []
    for source in active:
        for _ in range(ctx.scale.transfers_per_store):
            destination = rng.choice([store for store in active if store.id != source.id])
            plan = _TransferPlan(
                id=transfer_ids.take(), from_store=source, to_store=destination,
                notes=rng.choice(TRANSFER_NOTES),
            )
            shared_serialized = sorted(
                serialized_sets[source.position] & serialized_sets[destination.position]
            )
            shared_plain = sorted(plain_sets[source.position] & plain_sets[destination.position])
            for position in rng.sample(shared_serialized, min(2, len(shared_serialized))):
                plan.serial_lines.append((position, unit_ids.take()))
            for position in rng.sample(shared_plain, min(3, len(shared_plain))):
                plan.plain_lines.append((position, rng.randint(1, 5)))
            plans.append(plan)
    return plans


def _shipments_by_level(
    transfers: list[_TransferPlan],
) -> tuple[dict[tuple[int, int], list[_Shipment]], dict[tuple[int, int], list[_Shipment]]]:
    """Group transfer lines by (store position, product position) at both ends."""
    outgoing: dict[tuple[int, int], list[_Shipment]] = {}
    incoming: dict[tuple[int, int], list[_Shipment]] = {}
    for plan in transfers:
        lines = [(position, quantity, None) for position, quantity in plan.plain_lines]
        lines += [(position, 1, unit_id) for position, unit_id in plan.serial_lines]
        for position, quantity, unit_id in lines:
            shipment = _Shipment(transfer_id=plan.id, quantity=quantity, unit_id=unit_id)
            outgoing.setdefault((plan.from_store.position, position), []).append(shipment)
            incoming.setdefault((plan.to_store.position, position), []).append(shipment)
    return outgoing, incoming


class _StockWriter:
    """Add the units, stock levels and ledger rows of each store and product, and transfers."""

    def __init__(
        self,
        ctx: DemoContext,
        rng: random.Random,
        inserter: BulkInserter,
        unit_ids: IdSequence,
        outgoing: dict[tuple[int, int], list[_Shipment]],
        incoming: dict[tuple[int, int], list[_Shipment]],
    ) -> None:
        self._ctx = ctx
        self._rng = rng
        self._inserter = inserter
        self._unit_ids = unit_ids
        self._outgoing = outgoing
        self._incoming = incoming

    def transfer_add(self, plan: _TransferPlan) -> None:
        self._inserter.add(Transfer(
            id=plan.id, from_store_id=plan.from_store.id, to_store_id=plan.to_store.id,
            notes=plan.notes,
        ))
        for position, unit_id in plan.serial_lines:
            product = self._ctx.products[position]
            # A unit in transit stays with its source store until the transfer is received.
            self._inserter.add(
                self._unit(plan.from_store, product, unit_id, SerialStatus.TRANSFERRED)
            )
            self._inserter.add(TransferLine(
                transfer_id=plan.id, product_id=product.id, serial_unit_id=unit_id, quantity=1,
            ))
        for position, quantity in plan.plain_lines:
            self._inserter.add(TransferLine(
                transfer_id=plan.id, product_id=self._ctx.products[position].id,
                quantity=quantity,
            ))

    def serialized_add(self, store: DemoStore, product: DemoProduct) -> None:
        count = self._rng.choices(
            list(UNITS_PER_STORE_WEIGHTS), weights=list(UNITS_PER_STORE_WEIGHTS.values())
        )[0]
        statuses = self._rng.choices(
            list(ON_HAND_STATUS_WEIGHTS), weights=list(ON_HAND_STATUS_WEIGHTS.values()), k=count
        )
        for status in statuses:
            self._inserter.add(self._unit(store, product, self._unit_ids.take(), status))
        self._level_add(store, product, on_hand=count)

    def plain_add(self, store: DemoStore, product: DemoProduct) -> None:
        threshold = product.low_stock_threshold
        draw = self._rng.random()
        if draw < 0.12:
            on_hand = self._rng.randint(1, threshold - 1)
        elif draw < 0.17:
            on_hand = threshold
        else:
            on_hand = self._rng.randint(threshold + 1, threshold + 40)
        self._level_add(store, product, on_hand=on_hand)

    def _unit(
        self, store: DemoStore, product: DemoProduct, unit_id: int, status: SerialStatus
    ) -> SerialUnit:
        return SerialUnit(
            id=unit_id,
            serial=self._ctx.serials.next_for(product),
            product_id=product.id,
            store_id=store.id,
            status=status,
            cost=unit_cost(product, self._rng),
            received_at=self._ctx.today - datetime.timedelta(days=self._rng.randint(1, 120)),
        )

    def _level_add(self, store: DemoStore, product: DemoProduct, *, on_hand: int) -> None:
        key = (store.position, product.position)
        sent = self._outgoing.get(key, [])
        arriving = self._incoming.get(key, [])
        opening = on_hand + sum(shipment.quantity for shipment in sent)
        row = {"store_id": store.id, "product_id": product.id}

        self._inserter.add(StockMovement(
            **row, kind=MovementKind.MANUAL_CORRECTION, bucket=StockBucket.ON_HAND,
            quantity=opening, before=0, after=opening, note=OPENING_NOTE,
        ))
        level = opening
        for shipment in sent:
            self._inserter.add(StockMovement(
                **row, kind=MovementKind.TRANSFER_OUT, bucket=StockBucket.ON_HAND,
                quantity=-shipment.quantity, before=level, after=level - shipment.quantity,
                transfer_id=shipment.transfer_id, serial_unit_id=shipment.unit_id,
            ))
            level -= shipment.quantity
        inbound = 0
        for shipment in arriving:
            self._inserter.add(StockMovement(
                **row, kind=MovementKind.TRANSFER_IN, bucket=StockBucket.INBOUND,
                quantity=shipment.quantity, before=inbound, after=inbound + shipment.quantity,
                transfer_id=shipment.transfer_id, serial_unit_id=shipment.unit_id,
            ))
            inbound += shipment.quantity
        self._inserter.add(StockLevel(**row, on_hand=level, inbound=inbound))


def unit_cost(product: DemoProduct, rng: random.Random) -> Decimal:
    """Return a purchase cost of 62 to 75 percent of the standard price."""
    return (product.standard_price * rng.randint(62, 75) / 100).quantize(CENT)
