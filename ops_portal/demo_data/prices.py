"""Demo price lists with overlapping validity, and their resolution in memory."""

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from inventory.models import PriceList, PriceListEntry
from ops_portal.demo_data.bulk import BulkInserter, IdSequence
from ops_portal.demo_data.context import DemoContext, DemoProduct, DemoStore

CENT = Decimal("0.01")
PROMOTION_PERCENTS = (10, 15, 20, 25)
CLEARANCE_PERCENT = Decimal(30)
# Local lists price their SKUs this much below the standard list.
LOCAL_PRICE_FACTOR = Decimal("0.95")


@dataclass(frozen=True)
class _PriceListSpec:
    name: str
    source: str
    priority: int
    valid_from: datetime.date
    valid_to: datetime.date | None
    store: DemoStore | None
    # Chance that the list has an entry for a given product.
    product_share: float
    # Return the price and discount percent of a product's entry.
    entry_price: Callable[[DemoProduct, random.Random], tuple[Decimal, Decimal]]


@dataclass(frozen=True)
class _PriceRule:
    """One demo price list in memory: its validity and its entries by product position."""

    priority: int
    valid_from: datetime.date
    valid_to: datetime.date | None
    store_position: int | None
    # Product position to (price, discount amount per unit).
    entries: dict[int, tuple[Decimal, Decimal]]

    def applies(self, *, product_position: int, store_position: int, on: datetime.date) -> bool:
        return (
            product_position in self.entries
            and self.valid_from <= on
            and (self.valid_to is None or on <= self.valid_to)
            and (self.store_position is None or self.store_position == store_position)
        )


class PriceBook:
    """The demo price lists in memory, resolved by the rule of effective_price_get.

    The highest priority list valid for the store on the date wins, and ties go to the
    list created last. Sales use it so that their prices match what the portal charges.
    """

    def __init__(self, rules_in_creation_order: list[_PriceRule]) -> None:
        ranked = list(enumerate(rules_in_creation_order))
        ranked.sort(key=lambda item: (-item[1].priority, -item[0]))
        self._rules = [rule for _, rule in ranked]

    def price_on(
        self, *, product_position: int, store_position: int, on: datetime.date
    ) -> tuple[Decimal, Decimal]:
        """Return the unit price and the list discount per unit of a product."""
        for rule in self._rules:
            if rule.applies(
                product_position=product_position, store_position=store_position, on=on
            ):
                return rule.entries[product_position]
        raise LookupError(f"No demo price list has product {product_position} on {on}.")


def discount_amount(price: Decimal, discount_percent: Decimal) -> Decimal:
    """Return the amount a percentage takes off a price, rounded as EffectivePrice does."""
    final = (price * (Decimal(100) - discount_percent) / Decimal(100)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    return price - final


def price_lists_seed(ctx: DemoContext) -> dict[str, int]:
    """Insert price lists whose validity overlaps, and keep them in ctx.price_book."""
    rng = ctx.rng("price_lists")
    ids = IdSequence(PriceList)
    inserter = BulkInserter(PriceList, PriceListEntry, batch_size=ctx.scale.batch_size)
    rules = []
    for spec in _price_list_specs(ctx):
        price_list_id = ids.take()
        inserter.add(PriceList(
            id=price_list_id, name=spec.name, source=spec.source, priority=spec.priority,
            valid_from=spec.valid_from, valid_to=spec.valid_to,
            store_id=spec.store.id if spec.store else None,
        ))
        entries = {}
        for product in ctx.products:
            if spec.product_share < 1 and rng.random() >= spec.product_share:
                continue
            price, percent = spec.entry_price(product, rng)
            inserter.add(PriceListEntry(
                price_list_id=price_list_id, product_id=product.id, price=price,
                discount_percent=percent,
            ))
            entries[product.position] = (price, discount_amount(price, percent))
        rules.append(_PriceRule(
            priority=spec.priority, valid_from=spec.valid_from, valid_to=spec.valid_to,
            store_position=spec.store.position if spec.store else None, entries=entries,
        ))
    inserter.flush()

    ctx.price_book = PriceBook(rules)
    return {
        "price lists": inserter.counts[PriceList],
        "entries": inserter.counts[PriceListEntry],
    }


def _price_list_specs(ctx: DemoContext) -> list[_PriceListSpec]:
    """Return the lists in creation order.

    A standard list prices every SKU and never ends. A clearance ended two months ago,
    the first two open stores have local prices, and a promotion runs from a week
    before today to two weeks after.
    """
    today = ctx.today
    days = datetime.timedelta
    local_lists = [
        _PriceListSpec(
            name=f"{store.code} local prices", source="Store manager", priority=10,
            valid_from=today - days(45), valid_to=None, store=store, product_share=0.08,
            entry_price=_local_entry,
        )
        for store in ctx.active_stores[:2]
    ]
    return [
        _PriceListSpec(
            name="Standard prices", source="ERP", priority=0,
            valid_from=today - days(365), valid_to=None, store=None, product_share=1,
            entry_price=_standard_entry,
        ),
        _PriceListSpec(
            name="Clearance sale", source="Marketing", priority=30,
            valid_from=today - days(120), valid_to=today - days(60), store=None,
            product_share=0.1, entry_price=_clearance_entry,
        ),
        *local_lists,
        _PriceListSpec(
            name="Promo weeks", source="Marketing", priority=20,
            valid_from=today - days(7), valid_to=today + days(14), store=None,
            product_share=0.12, entry_price=_promotion_entry,
        ),
    ]


def _standard_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return product.standard_price, Decimal(0)


def _clearance_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return product.standard_price, CLEARANCE_PERCENT


def _local_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return (product.standard_price * LOCAL_PRICE_FACTOR).quantize(CENT), Decimal(0)


def _promotion_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return product.standard_price, Decimal(rng.choice(PROMOTION_PERCENTS))
