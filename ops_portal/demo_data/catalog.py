"""Demo stores, and products with EAN-13 barcodes and standard prices."""

import random
from decimal import Decimal

from inventory.models import Product, Store
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
    """Insert the demo stores with codes from S001 up, closing those the scale names."""
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
        rows.append(
            Store(id=store.id, code=store.code, name=f"{city} {site}", is_active=store.is_active)
        )
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
        return _phone_spec(rng)
    if category == "Tablets":
        return _tablet_spec(rng)
    item, lowest, highest = rng.choice(PLAIN_ITEMS[category])
    name = f"{rng.choice(ACCESSORY_BRANDS)} {item}"
    if category == "Cases":
        name += f" for {_phone_model(rng)}"
    return name, _shelf_price(rng.randint(lowest, highest)), False


def _phone_model(rng: random.Random) -> str:
    return f"{rng.choice(DEVICE_BRANDS)} {rng.choice(list(PHONE_SERIES))} {rng.randint(5, 15)}"


def _phone_spec(rng: random.Random) -> tuple[str, Decimal, bool]:
    brand, series, generation = (
        rng.choice(DEVICE_BRANDS), rng.choice(list(PHONE_SERIES)), rng.randint(5, 15)
    )
    storage, colour = rng.choice(list(PHONE_STORAGE_GB)), rng.choice(COLOURS)
    price = 99 + 25 * generation + PHONE_SERIES[series] + PHONE_STORAGE_GB[storage]
    return f"{brand} {series} {generation} {storage} GB {colour}", _shelf_price(price), True


def _tablet_spec(rng: random.Random) -> tuple[str, Decimal, bool]:
    brand, series, size = (
        rng.choice(DEVICE_BRANDS), rng.choice(list(TABLET_SERIES)), rng.choice(list(TABLET_SIZES))
    )
    storage, cellular = rng.choice(list(TABLET_STORAGE_GB)), rng.random() < 0.5
    price = 179 + TABLET_SERIES[series] + TABLET_SIZES[size] + TABLET_STORAGE_GB[storage]
    if cellular:
        price += 120
    network = "5G" if cellular else "Wi-Fi"
    return f'{brand} Tab {series} {size}" {storage} GB {network}', _shelf_price(price), cellular


def _shelf_price(whole_euros: int) -> Decimal:
    """Return the price ending in .99 just below a whole amount, such as 628.99 for 629."""
    return Decimal(whole_euros) - CENT


def ean13(position: int) -> str:
    """Return an EAN-13 barcode in the 200 prefix, which GS1 leaves for in-store numbers."""
    body = f"200{position:09d}"
    return body + ean13_check_digit(body)


def ean13_check_digit(body: str) -> str:
    """Return the check digit of a 12-digit EAN-13 body: digits weigh 1 and 3 in turn."""
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(body))
    return str((10 - total % 10) % 10)
