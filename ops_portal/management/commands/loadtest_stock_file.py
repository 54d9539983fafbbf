"""Write a stock count of the database's own stores and plain SKUs, for the load test."""

import csv
import random
from itertools import islice, product
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.models import Product, Store

# On-hand values of the count; high enough that the load test's sales never run out.
MIN_QUANTITY = 60
MAX_QUANTITY = 240


class Command(BaseCommand):
    help = (
        "Write a stock CSV (store, sku, qty) of ROWS distinct pairs of the active stores and "
        "plain products in the database, as a store chain's count would list them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000, help="Rows to write.")
        parser.add_argument("--output", type=Path, required=True, help="CSV file to write.")
        parser.add_argument("--seed", type=int, default=7, help="Seed of the quantities.")

    def handle(self, *args, **options) -> None:
        stores = list(Store.objects.filter(is_active=True).order_by("code")
                      .values_list("code", flat=True))
        skus = list(Product.objects.filter(is_serialized=False).order_by("sku")
                    .values_list("sku", flat=True))
        if len(stores) * len(skus) < options["rows"]:
            raise CommandError(
                f"{len(stores)} active stores and {len(skus)} plain SKUs give fewer than "
                f"{options['rows']:,} pairs. Load the large demo data (seed_demo --scale large)."
            )
        generator = random.Random(options["seed"])
        options["output"].parent.mkdir(parents=True, exist_ok=True)
        with options["output"].open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["store", "sku", "qty"])
            for sku, store in islice(product(skus, stores), options["rows"]):
                writer.writerow([store, sku, generator.randint(MIN_QUANTITY, MAX_QUANTITY)])
        self.stdout.write(f"Wrote {options['rows']:,} rows to {options['output']}.")
