"""Measure the server time and query count of every admin change list.

Each page is requested through django.test.Client in this process, so a measurement is
the whole Django stack (middleware, admin view, queries, template rendering) without a
network or an ASGI server in front. Run it against a database with the large demo data.
"""

import datetime
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import django
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import (
    MovementKind,
    PaymentMethod,
    PriceList,
    PriceListEntry,
    Product,
    Sale,
    SaleLine,
    SerialStatus,
    SerialUnit,
    StockLevel,
    StockMovement,
    Store,
    Transfer,
)
from ops_portal.machine import cpu_model
from settlements.models import Settlement

BENCH_USERNAME = "bench-admin"
BUDGET_MS = 300
# A page far enough in to show the cost of OFFSET, measured when the table has it.
DEEP_PAGE = 50
COUNTED_MODELS = (
    Store, Product, SerialUnit, StockLevel, StockMovement, Transfer, Sale, SaleLine,
    PriceList, PriceListEntry, Settlement,
)


@dataclass(frozen=True)
class Page:
    label: str
    url: str


@dataclass(frozen=True)
class Result:
    page: Page
    timings_ms: list[float]
    queries: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def max_ms(self) -> float:
        return max(self.timings_ms)


class Command(BaseCommand):
    help = (
        "Request every admin change list (and a search and a store filter on the large "
        "tables) as a superuser, and write the median and max server time and the query "
        "count of each to a Markdown page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=7,
                            help="Timed requests per page after one warm-up (default: 7).")
        parser.add_argument("--output", default="docs/benchmarks/admin.md",
                            help="Markdown file to write (default: docs/benchmarks/admin.md).")
        parser.add_argument("--only", default="",
                            help="Measure only pages whose label contains this text.")
        parser.add_argument("--note", default="",
                            help="A sentence for the report, such as where the data came from.")

    def handle(self, *args, **options) -> None:
        if options["repeat"] < 1:
            raise CommandError(f"--repeat must be 1 or more, not {options['repeat']}.")
        client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost")
        client.force_login(_bench_superuser())

        load = os.getloadavg()[0]
        pages = [page for page in _pages() if options["only"] in page.label]
        results = []
        for page in pages:
            result = _measure(client, page, repeat=options["repeat"])
            results.append(result)
            self.stdout.write(
                f"{page.label:<48} median {result.median_ms:7.1f} ms  "
                f"max {result.max_ms:7.1f} ms  {result.queries:3d} queries"
            )

        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        report = _report(results, repeat=options["repeat"], note=options["note"], load=load)
        output.write_text(report, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))


def _bench_superuser():
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=BENCH_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif not (user.is_staff and user.is_superuser and user.is_active):
        raise CommandError(
            f"User {BENCH_USERNAME!r} exists but is not an active staff superuser. "
            "Delete it or make it one, then run the benchmark again."
        )
    return user


def _pages() -> list[Page]:
    """Return every registered change list, then searches and filters on the large tables."""
    pages = []
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label_lower):
        opts = model._meta
        pages.append(
            Page(opts.label_lower, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        )
    return pages + _search_and_filter_pages()


def _search_and_filter_pages() -> list[Page]:
    unit = SerialUnit.objects.select_related("product").order_by("-pk").first()
    line = SaleLine.objects.select_related("product").order_by("-pk").first()
    store = Store.objects.order_by("code").first()
    price_list = PriceList.objects.order_by("pk").first()
    receipt = (
        Sale.objects.exclude(receipt_number__isnull=True).exclude(receipt_number="").order_by("-pk")
        .values_list("receipt_number", flat=True).first()
    )

    extra_pages: list[tuple[str, str, dict | None]] = []
    if unit is not None:
        extra_pages += [
            ("inventory.serialunit search serial", "inventory_serialunit", {"q": unit.serial}),
            ("inventory.serialunit search SKU", "inventory_serialunit", {"q": unit.product.sku}),
            ("inventory.stockmovement search serial", "inventory_stockmovement",
             {"q": unit.serial}),
        ]
    if line is not None:
        extra_pages += [
            ("inventory.saleline search SKU", "inventory_saleline", {"q": line.product.sku}),
            ("inventory.stockmovement search SKU", "inventory_stockmovement",
             {"q": line.product.sku}),
            ("inventory.stocklevel search SKU", "inventory_stocklevel", {"q": line.product.sku}),
            ("inventory.pricelistentry search SKU", "inventory_pricelistentry",
             {"q": line.product.sku}),
            ("inventory.product search SKU prefix", "inventory_product",
             {"q": line.product.sku[:4]}),
        ]
    if receipt:
        extra_pages.append(("inventory.sale search receipt", "inventory_sale", {"q": receipt}))
    if store is not None:
        by_store = {"store__id__exact": store.pk}
        extra_pages += [
            ("inventory.serialunit filter store", "inventory_serialunit", by_store),
            ("inventory.stocklevel filter store", "inventory_stocklevel", by_store),
            ("inventory.stockmovement filter store", "inventory_stockmovement", by_store),
            ("inventory.sale filter store", "inventory_sale", by_store),
            ("inventory.saleline filter store", "inventory_saleline",
             {"sale__store__id__exact": store.pk}),
        ]
    if price_list is not None:
        extra_pages.append(("inventory.pricelistentry filter price list", "inventory_pricelistentry",
                            {"price_list__id__exact": price_list.pk}))
    # Filters on a status, kind or payment method alone. No index starts with these
    # columns, so the exact count of the matching rows reads a whole index.
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    extra_pages += [
        ("inventory.serialunit filter status sold", "inventory_serialunit",
         {"status__exact": SerialStatus.SOLD}),
        ("inventory.serialunit filter status in transit", "inventory_serialunit",
         {"status__exact": SerialStatus.TRANSFERRED}),
        ("inventory.stockmovement filter kind", "inventory_stockmovement",
         {"kind__exact": MovementKind.SALE}),
        ("inventory.sale filter payment method", "inventory_sale",
         {"payment_method__exact": PaymentMethod.CARD}),
        ("inventory.sale filter past 7 days", "inventory_sale",
         {"sold_at__gte": str(midnight - datetime.timedelta(days=7)),
          "sold_at__lt": str(midnight + datetime.timedelta(days=1))}),
    ]
    if SerialUnit.objects.order_by("serial")[DEEP_PAGE * 100 : DEEP_PAGE * 100 + 1].exists():
        extra_pages.append(
            (f"inventory.serialunit page {DEEP_PAGE}", "inventory_serialunit", {"p": DEEP_PAGE})
        )

    return [
        Page(label, reverse(f"admin:{name}_changelist") + "?" + urlencode(params))
        for label, name, params in extra_pages
    ]


def _measure(client: Client, page: Page, *, repeat: int) -> Result:
    # The warm-up request compiles templates and fills caches; its query count is the
    # page's, as every request of a page runs the same queries. With DEBUG on, the query
    # log is a deque that stops growing at 9,000 entries, so it is emptied first.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        _get(client, page)
    # captured_queries slices the live query log, which later requests reset.
    query_count = len(queries.captured_queries)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        _get(client, page)
        timings.append((time.perf_counter() - started) * 1000)
    return Result(page=page, timings_ms=timings, queries=query_count)


def _get(client: Client, page: Page) -> None:
    response = client.get(page.url, secure=True)
    if response.status_code != 200:
        raise CommandError(
            f"{page.url} returned HTTP {response.status_code}, not 200. "
            "Check that the database is migrated and the admin opens in a browser."
        )


def _report(results: list[Result], *, repeat: int, note: str, load: float) -> str:
    lines = [
        "# Admin change lists: server time",
        "",
        "Server time of each back-office change list, measured in process through",
        "django.test.Client as a superuser: the whole Django stack (middleware, admin view,",
        "queries, template rendering), without a network or an ASGI server in front.",
        f"Each page is requested once to warm up and then {repeat} times; the table shows",
        f"the median and the maximum of the {repeat}, and the queries of one request.",
        f"The budget is {BUDGET_MS} ms of median server time per page.",
        "",
        "## Environment",
        "",
        *_environment_lines(load=load),
        *([f"- Data: {note}"] if note else []),
        "",
        "## Rows",
        "",
        "| table | rows |",
        "| --- | ---: |",
        *(f"| {model._meta.db_table} | {model.objects.count():,} |" for model in COUNTED_MODELS),
        "",
        "## Results",
        "",
        "| page | median ms | max ms | queries |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {result.page.label} | {result.median_ms:.1f} | {result.max_ms:.1f} "
            f"| {result.queries} |"
            for result in results
        ),
        "",
        f"Pages over the {BUDGET_MS} ms budget: "
        + (", ".join(r.page.label for r in results if r.median_ms >= BUDGET_MS) or "none")
        + ".",
        "",
    ]
    return "\n".join(lines)


def _environment_lines(*, load: float) -> list[str]:
    database = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()" if connection.vendor == "mysql" else "SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    command = shlex.join(["python", Path(sys.argv[0]).name, *sys.argv[1:]])
    env = " ".join(
        f"{name}={_redact(os.environ[name])}"
        for name in ("DATABASE_URL", "DJANGO_DEBUG", "DJANGO_STATIC_MANIFEST")
        if os.environ.get(name)
    )
    machine = (
        f"{cpu_model()}, {os.cpu_count()} cores, shared with other work (1-minute load "
        f"average {load:.1f} at the start), so single requests are noisy and the median "
        "is the figure to read"
    )
    full_command = " ".join(part for part in (env, command) if part)
    return [
        f"- Date: {timezone.localtime():%Y-%m-%d %H:%M %Z}",
        f"- Machine: {machine}",
        f"- Database: {connection.vendor} {version}, database {database['NAME']}",
        f"- Python {platform.python_version()}, Django {django.get_version()}, DEBUG={settings.DEBUG}",
        f"- Command: `{full_command}` (`make bench-admin` runs it with DEBUG off)",
    ]


def _redact(value: str) -> str:
    """Hide the password of a database URL."""
    if "://" not in value or "@" not in value:
        return value
    scheme, rest = value.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if ":" not in credentials else f"{scheme}://{user}:***@{host}"

