"""The catalog and the stock files of the import benchmark, made from a fixed seed.

The catalog has BENCH_STORES stores (S001, S002, ...), plain SKUs (accessories counted by
quantity) and serialized SKUs (phones counted one IMEI per row). A stock file mixes plain
rows and serial rows. Every IMEI is distinct and has a valid check digit, so every row of
a file is valid against this catalog.
"""

import csv
import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
from django.contrib.auth import get_user_model

from inventory.models import Product, Store
from ops_portal.imei import imei_with_check_digit

BENCH_USERNAME = "bench-imports"
BENCH_STORES = 200
PLAIN_SKUS = 2_500
SERIALIZED_SKUS = 500
# Share of the rows of a file that are serial rows; the rest are plain quantity rows.
SERIAL_ROW_SHARE = 0.3
LOT_COST_SHARE = 0.1
STOCK_HEADER = ["store", "sku", "serial", "qty", "cost", "status", "received_date"]
# Bumped whenever the generated content changes, so files cached under var/ are remade.
FILES_VERSION = 2
# Statuses of serial rows, with their weights: most counted units are on the shelf.
SERIAL_STATUSES = (("in_stock", 90), ("reserved", 6), ("damaged", 4))
FIRST_RECEIVED = datetime.date(2024, 1, 1)
RECEIVED_DAYS = 540


@dataclass(frozen=True)
class Catalog:
    store_codes: list[str]
    plain_skus: list[str]
    serialized_skus: list[str]


def bench_catalog_ensure() -> Catalog:
    """Create the benchmark's stores and products where they are missing; return their codes."""
    store_codes = [f"S{number:03d}" for number in range(1, BENCH_STORES + 1)]
    plain_skus = [f"ACC-{number:05d}" for number in range(1, PLAIN_SKUS + 1)]
    serialized_skus = [f"PHN-{number:04d}" for number in range(1, SERIALIZED_SKUS + 1)]

    Store.objects.bulk_create(
        [Store(code=code, name=f"Store {code}") for code in store_codes], ignore_conflicts=True
    )
    Product.objects.bulk_create(
        [Product(sku=sku, name=f"Accessory {sku}", category="Accessories") for sku in plain_skus]
        + [
            Product(sku=sku, name=f"Phone {sku}", category="Phones", is_serialized=True)
            for sku in serialized_skus
        ],
        ignore_conflicts=True,
    )
    return Catalog(store_codes, plain_skus, serialized_skus)


def bench_user_ensure():
    """Return the benchmark's superuser, created with an unusable password when missing."""
    user, created = get_user_model().objects.get_or_create(
        username=BENCH_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def stock_records(catalog: Catalog, rows: int, *, seed: int):
    """Yield ``rows`` stock records as lists of text cells in STOCK_HEADER order.

    Each SKU has a purchase cost, and one row in LOT_COST_SHARE lists another lot's cost
    within 5% of it, as counts exported from a stock system do.
    """
    rng = random.Random(seed)
    costs = random.Random(0)
    plain_costs = {sku: costs.randrange(50, 9_999) for sku in catalog.plain_skus}
    serialized_costs = {sku: costs.randrange(9_900, 129_900) for sku in catalog.serialized_skus}

    def cost(cents: int) -> str:
        if rng.random() < LOT_COST_SHARE:
            cents = round(cents * rng.uniform(0.95, 1.05))
        return str(Decimal(cents) / 100)

    # Serials start at a seed-dependent block, so two files of different seeds share none.
    next_imei = 35_000_000_000_000 + seed * 10_000_000
    status_names = [name for name, _ in SERIAL_STATUSES]
    status_weights = [weight for _, weight in SERIAL_STATUSES]
    for _ in range(rows):
        store = rng.choice(catalog.store_codes)
        received = FIRST_RECEIVED + datetime.timedelta(days=rng.randrange(RECEIVED_DAYS))
        if rng.random() < SERIAL_ROW_SHARE:
            next_imei += 1
            sku = rng.choice(catalog.serialized_skus)
            yield [
                store,
                sku,
                imei_with_check_digit(str(next_imei)),
                "1" if rng.random() < 0.5 else "",
                cost(serialized_costs[sku]),
                rng.choices(status_names, status_weights)[0],
                received.isoformat(),
            ]
        else:
            sku = rng.choice(catalog.plain_skus)
            yield [store, sku, "", str(rng.randrange(0, 60)), cost(plain_costs[sku]), "",
                   received.isoformat()]


def stock_csv_ensure(folder: Path, catalog: Catalog, rows: int, *, seed: int) -> Path:
    """Write a stock CSV of ``rows`` data rows unless the same file is already there."""
    path = folder / f"stock-{rows}-v{FILES_VERSION}-s{seed}.csv"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(STOCK_HEADER)
        writer.writerows(stock_records(catalog, rows, seed=seed))
    partial.rename(path)
    return path


def stock_xlsx_ensure(folder: Path, catalog: Catalog, rows: int, *, seed: int) -> Path:
    """Write a stock XLSX of ``rows`` data rows with typed cells, as a spreadsheet saves them.

    Quantities and costs are number cells, received dates are date cells, and IMEIs are
    text cells.
    """
    path = folder / f"stock-{rows}-v{FILES_VERSION}-s{seed}.xlsx"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Stock")
    sheet.append(STOCK_HEADER)
    for store, sku, serial, qty, cost, status, received in stock_records(catalog, rows, seed=seed):
        sheet.append([
            store,
            sku,
            serial or None,
            int(qty) if qty else None,
            float(cost),
            status or None,
            datetime.date.fromisoformat(received),
        ])
    partial = path.with_suffix(".partial")
    workbook.save(partial)
    partial.rename(path)
    return path
