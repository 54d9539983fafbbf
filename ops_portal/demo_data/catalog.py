"""Demo stores, products with barcodes, and price lists with overlapping validity."""

import datetime
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from inventory.models import PriceList, PriceListEntry, Product, Store
from ops_portal.demo_data.bulk import BulkInserter, IdSequence
from ops_portal.demo_data.context import DemoContext, DemoProduct, DemoStore

CENT = Decimal("0.01")

CITIES = (
    "Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen",
    "Antwerp", "Ghent", "Brussels", "Cologne", "Düsseldorf",
)
SITES = ("Central", "Station", "Mall", "Airport", "Harbour")

DEVICE_BRANDS = ("Nordel", "Kestrel", "Lumio", "Vantor", "Orbix", "Polaro")
ACCESSORY_BRANDS = ("Gridline", "Voltra", "Shellcraft", "Sonique", "Amberlink", "Cordex")
COLOURS = ("Black", "White", "Graphite", "Blue", "Green", "Rose", "Silver")

PHONE_SERIES = {"Lite": 0, "Nova": 60, "Vista": 120, "Edge": 250, "Pro": 400, "Max": 550}
PHONE_STORAGE_GB = {64: 0, 128: 50, 256: 130, 512: 280}
TABLET_SERIES = {"Go": 0, "Plus": 60, "Air": 120, "Pro": 300}
TABLET_SIZES = {"8.7": 0, "10.4": 80, "11": 150, "12.9": 350}
TABLET_STORAGE_GB = {64: 0, 128: 60, 256: 150}

# Items of the plain categories with the range of their whole-euro shelf price.
PLAIN_ITEMS = {
    "Accessories": (
        ("Stylus pen", 19, 49), ("Car mount", 14, 39), ("Phone grip", 6, 15),
        ("Tempered glass screen protector", 9, 29), ("Cleaning kit", 5, 12),
        ("Selfie stick", 12, 29), ("microSD card 128 GB", 14, 29), ("Lanyard strap", 7, 19),
    ),
    "Chargers": (
        ("USB-C wall charger 20 W", 15, 29), ("USB-C wall charger 65 W", 39, 69),
        ("Wireless charging pad 15 W", 19, 49), ("Car charger dual USB", 12, 29),
        ("Power bank 10,000 mAh", 24, 49), ("USB-C to USB-C cable 1 m", 9, 19),
        ("USB-C to USB-A cable 2 m", 9, 19),
    ),
    "Cases": (
        ("Clear case", 9, 25), ("Silicone case", 14, 35), ("Leather folio", 29, 59),
        ("Rugged case", 24, 49),
    ),
    "Audio": (
        ("Wireless earbuds", 29, 199), ("Noise-cancelling headphones", 99, 349),
        ("Bluetooth speaker", 25, 149), ("Wired earphones USB-C", 9, 29),
    ),
}

# Category, SKU prefix, share of all products, and whether its units are serialized.
CATEGORIES = (
    ("Phones", "PHN", 2 / 9, True),
    ("Tablets", "TAB", 1 / 9, True),
    ("Accessories", "ACC", 0.2, False),
    ("Chargers", "CHG", 1 / 6, False),
    ("Cases", "CAS", 0.2, False),
    ("Audio", "AUD", None, False),
)


def stores_seed(ctx: DemoContext) -> dict[str, int]:
    """Insert the demo stores, codes S001 upwards; the scale says which ones are closed."""
    ids = IdSequence(Store)
    rows = []
    for position in range(ctx.scale.store_count):
        store = DemoStore(
            position=position,
            id=ids.take(),
            code=store_code(position),
            is_active=position not in ctx.scale.inactive_store_positions,
        )
        city = CITIES[position % len(CITIES)]
        site = SITES[(position // len(CITIES)) % len(SITES)]
        rows.append(Store(id=store.id, code=store.code, name=f"{city} {site}", is_active=store.is_active))
        ctx.stores.append(store)
    Store.objects.bulk_create(rows, batch_size=ctx.scale.batch_size)
    return {"stores": len(rows), "closed": len(ctx.stores) - len(ctx.active_stores)}


def store_code(position: int) -> str:
    return f"S{position + 1:03d}"


def products_seed(ctx: DemoContext) -> dict[str, int]:
    """Insert the products: a third serialized phones and tablets, the rest plain SKUs."""
    rng = ctx.rng("products")
    ids = IdSequence(Product)
    inserter = BulkInserter(Product, batch_size=ctx.scale.batch_size)
    for category, prefix, count, serialized in _category_counts(ctx.scale.product_count):
        for number in range(1, count + 1):
            name, price, has_imei = _product_spec(category, rng)
            threshold = rng.randint(1, 4) if serialized else rng.randint(3, 10)
            product = DemoProduct(
                position=len(ctx.products),
                id=ids.take(),
                sku=f"{prefix}-{number:05d}",
                category=category,
                is_serialized=serialized,
                has_imei=has_imei,
                standard_price=price,
                low_stock_threshold=threshold,
            )
            inserter.add(Product(
                id=product.id, sku=product.sku, name=name, category=category,
                is_serialized=serialized, barcode=ean13(product.position),
                low_stock_threshold=threshold,
            ))
            ctx.products.append(product)
    inserter.flush()
    serialized_count = sum(1 for product in ctx.products if product.is_serialized)
    return {"products": len(ctx.products), "serialized": serialized_count}


def _category_counts(product_count: int) -> list[tuple[str, str, int, bool]]:
    counts = []
    remaining = product_count
    for category, prefix, share, serialized in CATEGORIES:
        count = remaining if share is None else round(product_count * share)
        counts.append((category, prefix, count, serialized))
        remaining -= count
    return counts


def _product_spec(category: str, rng: random.Random) -> tuple[str, Decimal, bool]:
    """Return a product's name, standard price and whether its units carry an IMEI."""
    if category == "Phones":
        brand, series, model = rng.choice(DEVICE_BRANDS), rng.choice(list(PHONE_SERIES)), rng.randint(5, 15)
        storage, colour = rng.choice(list(PHONE_STORAGE_GB)), rng.choice(COLOURS)
        price = 99 + 25 * model + PHONE_SERIES[series] + PHONE_STORAGE_GB[storage]
        return f"{brand} {series} {model} {storage} GB {colour}", _shelf_price(price), True
    if category == "Tablets":
        brand, series, size = rng.choice(DEVICE_BRANDS), rng.choice(list(TABLET_SERIES)), rng.choice(list(TABLET_SIZES))
        storage, cellular = rng.choice(list(TABLET_STORAGE_GB)), rng.random() < 0.5
        price = 179 + TABLET_SERIES[series] + TABLET_SIZES[size] + TABLET_STORAGE_GB[storage]
        price += 120 if cellular else 0
        network = "5G" if cellular else "Wi-Fi"
        return f'{brand} Tab {series} {size}" {storage} GB {network}', _shelf_price(price), cellular
    item, low, high = rng.choice(PLAIN_ITEMS[category])
    if category == "Cases":
        device = f"{rng.choice(DEVICE_BRANDS)} {rng.choice(list(PHONE_SERIES))} {rng.randint(5, 15)}"
        return f"{rng.choice(ACCESSORY_BRANDS)} {item} for {device}", _shelf_price(rng.randint(low, high)), False
    return f"{rng.choice(ACCESSORY_BRANDS)} {item}", _shelf_price(rng.randint(low, high)), False


def _shelf_price(amount: Decimal | int) -> Decimal:
    """Round down to a price ending in .99, such as 628.99 for 629.40."""
    whole = int(amount)
    if whole < 2:
        return Decimal(amount).quantize(CENT)
    return Decimal(whole) - CENT


def ean13(position: int) -> str:
    """Return an EAN-13 barcode in the 200 prefix, which GS1 leaves for in-store numbers."""
    body = f"200{position:09d}"
    return body + ean13_check_digit(body)


def ean13_check_digit(body: str) -> str:
    """Return the check digit of a 12-digit EAN-13 body: digits weigh 1 and 3 in turn."""
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(body))
    return str((10 - total % 10) % 10)


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

    The highest priority list valid for the store on the date wins; ties go to the list
    created last. Sales use it so that their prices match what the portal would charge.
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
            if rule.applies(product_position=product_position, store_position=store_position, on=on):
                return rule.entries[product_position]
        raise LookupError(f"No demo price list prices product {product_position} on {on}.")


def discount_amount(price: Decimal, discount_percent: Decimal) -> Decimal:
    """Return the amount a percentage takes off a price, rounded as EffectivePrice does."""
    final = (price * (Decimal(100) - discount_percent) / Decimal(100)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    return price - final


def price_lists_seed(ctx: DemoContext) -> tuple[dict[str, int], PriceBook]:
    """Insert five price lists whose validity overlaps, and return them as a PriceBook.

    A standard list for every SKU (open-ended), an expired clearance, local lists of the
    first two stores, and a promotion valid from a week before to two weeks after today.
    """
    rng = ctx.rng("price_lists")
    today = ctx.today
    days = datetime.timedelta
    specs = [
        ("Standard prices", "ERP", 0, today - days(365), None, None, 1.0, _standard_entry),
        ("Clearance sale", "Marketing", 30, today - days(120), today - days(60), None, 0.1, _clearance_entry),
        *[
            (f"{store.code} local prices", "Store manager", 10, today - days(45), None, store, 0.08, _local_entry)
            for store in ctx.active_stores[:2]
        ],
        ("Promo weeks", "Marketing", 20, today - days(7), today + days(14), None, 0.12, _promo_entry),
    ]

    ids = IdSequence(PriceList)
    inserter = BulkInserter(PriceList, PriceListEntry, batch_size=ctx.scale.batch_size)
    rules = []
    for name, source, priority, valid_from, valid_to, store, share, make_entry in specs:
        price_list_id = ids.take()
        inserter.add(PriceList(
            id=price_list_id, name=name, source=source, priority=priority,
            valid_from=valid_from, valid_to=valid_to, store_id=store.id if store else None,
        ))
        entries = {}
        for product in ctx.products:
            if share < 1.0 and rng.random() >= share:
                continue
            price, percent = make_entry(product, rng)
            inserter.add(PriceListEntry(
                price_list_id=price_list_id, product_id=product.id, price=price,
                discount_percent=percent,
            ))
            entries[product.position] = (price, discount_amount(price, percent))
        rules.append(_PriceRule(
            priority=priority, valid_from=valid_from, valid_to=valid_to,
            store_position=store.position if store else None, entries=entries,
        ))
    inserter.flush()
    counts = {
        "price lists": inserter.counts[PriceList],
        "entries": inserter.counts[PriceListEntry],
    }
    return counts, PriceBook(rules)


def _standard_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return product.standard_price, Decimal("0")


def _clearance_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return product.standard_price, Decimal("30")


def _local_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return _shelf_price(product.standard_price * Decimal("0.95")), Decimal("0")


def _promo_entry(product: DemoProduct, rng: random.Random) -> tuple[Decimal, Decimal]:
    return product.standard_price, Decimal(rng.choice((10, 15, 20, 25)))
