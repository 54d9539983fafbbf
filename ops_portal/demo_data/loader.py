"""Loading the whole demo data set, step by step, in one transaction."""

import enum
import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from inventory.models import Product, Store
from ops_portal.demo_data.catalog import products_seed, store_code, stores_seed
from ops_portal.demo_data.context import DemoContext
from ops_portal.demo_data.errors import DemoDataError
from ops_portal.demo_data.prices import price_lists_seed
from ops_portal.demo_data.sales import sales_seed
from ops_portal.demo_data.scales import DemoScale
from ops_portal.demo_data.settlements import settlements_seed
from ops_portal.demo_data.stock import stock_seed

logger = logging.getLogger(__name__)

# Called after each step with its name, its row counts by label, and its duration in seconds.
StepReport = Callable[[str, dict[str, int], float], None]


class DemoDataState(enum.Enum):
    EMPTY = "empty"
    LOADED = "loaded"


def demo_data_state(*, scale: DemoScale) -> DemoDataState:
    """Return whether the scale's demo data is loaded, or the database is empty for it.

    Raises DemoDataError when the database contains other stores or products, because
    the demo data would mix with them or collide on codes and SKUs.
    """
    codes = _store_codes(scale)
    if Store.objects.filter(code__in=codes).count() == len(codes):
        return DemoDataState.LOADED
    stores = Store.objects.count()
    products = Product.objects.count()
    if stores == 0 and products == 0:
        return DemoDataState.EMPTY
    raise DemoDataError(
        f"The database contains {stores} stores and {products} products but not the "
        f"{len(codes)} stores of the {scale.name} demo data ({codes[0]} to {codes[-1]}), "
        "so seed_demo cannot add it. Load the demo data into an empty database: run "
        "`manage.py flush` first, or set DATABASE_URL to a new database."
    )


def demo_data_seed(*, scale: DemoScale, report: StepReport) -> None:
    """Insert the demo data of a scale into an empty database.

    Everything runs in one transaction, so a run that fails leaves no part of the data
    behind. The same scale on the same date gives the same values, except that today's
    sale times are spread over the hours of today before the run.
    """
    now = timezone.localtime()
    ctx = DemoContext(scale=scale, today=now.date(), now=now)
    started = time.monotonic()
    logger.info("demo_data.load_started scale=%s", scale.name)

    steps = (
        ("stores", stores_seed),
        ("products", products_seed),
        ("price lists", price_lists_seed),
        ("stock", stock_seed),
        ("sales", sales_seed),
        ("settlements", settlements_seed),
    )
    with transaction.atomic():
        for name, seed in steps:
            step_started = time.monotonic()
            counts = seed(ctx)
            seconds = time.monotonic() - step_started
            logger.debug(
                "demo_data.step_finished step=%s counts=%s seconds=%.2f", name, counts, seconds
            )
            report(name, counts, seconds)

    logger.info(
        "demo_data.load_finished scale=%s seconds=%.1f", scale.name, time.monotonic() - started
    )


def demo_member_stores(*, scale: DemoScale) -> list[Store]:
    """Return the stores the demo store staff account is a member of: the first two open ones."""
    codes = [
        store_code(position)
        for position in range(scale.store_count)
        if position not in scale.inactive_store_positions
    ][:2]
    return list(Store.objects.filter(code__in=codes).order_by("code"))


def _store_codes(scale: DemoScale) -> list[str]:
    return [store_code(position) for position in range(scale.store_count)]
