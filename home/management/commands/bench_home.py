"""Measure the server time of Home, its overview drill-downs and the overview API.

Each URL is requested through django.test.Client in this process, so a measurement is the
whole Django stack (middleware, view, queries, template rendering) without a network or
an ASGI server in front. Run it against a database with the large demo data.
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
from unittest.mock import patch

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache.backends.dummy import DummyCache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries
from django.db.models import Count, Max
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from home.selectors import overview as overview_selectors
from home.selectors.stores import SESSION_STORE_KEY
from inventory.models import Sale, SaleLine, SerialUnit, StockLevel, Store, StoreMembership, Transfer
from inventory.roles import STORE_STAFF
from ops_portal.machine import cpu_model

BENCH_USERNAME = "bench-home"
HOME_BUDGET_MS = 150
COUNTED_MODELS = (Store, StockLevel, SerialUnit, Transfer, Sale, SaleLine)


@dataclass(frozen=True)
class Result:
    label: str
    url: str
    timings_ms: list[float]
    queries: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p95_ms(self) -> float:
        """The 95th percentile by linear interpolation; the maximum below 20 samples."""
        if len(self.timings_ms) < 20:
            return max(self.timings_ms)
        return statistics.quantiles(self.timings_ms, n=20, method="inclusive")[18]


class Command(BaseCommand):
    help = (
        "Request Home, its four overview drill-downs and the overview API as a store-staff "
        "user N times each, and write the median and 95th percentile server time and the "
        "query count of each URL to a Markdown page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=30,
                            help="Timed requests per URL after one warm-up (default: 30).")
        parser.add_argument("--store", default="",
                            help="Code of the store to show (default: the active store with "
                                 "the most stock records).")
        parser.add_argument("--output", default="docs/benchmarks/home.md",
                            help="Markdown file to write (default: docs/benchmarks/home.md).")
        parser.add_argument("--note", default="",
                            help="A sentence for the report, such as where the data came from.")

    def handle(self, *args, **options) -> None:
        repeat = options["repeat"]
        if repeat < 1:
            raise CommandError(f"--repeat must be 1 or more, not {repeat}.")
        store = _bench_store(options["store"])
        client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost")
        client.force_login(_bench_user(store))
        session = client.session
        session[SESSION_STORE_KEY] = store.pk
        session.save()

        load = os.getloadavg()[0]
        results = []
        urls = _urls(store, _bench_date(store))
        for label, url in urls:
            results.append(_measure(client, label, url, repeat=repeat))
            self._result_print(results[-1])
        # Home as the first view after a change of the store's stock: the stock reads miss
        # their cache on every request.
        with patch.object(overview_selectors, "cache", DummyCache("bench", {})):
            cold = _measure(client, "Home, stock cache cold", urls[0][1], repeat=repeat)
        results.append(cold)
        self._result_print(cold)

        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(
            _report(results, store=store, repeat=repeat, note=options["note"], load=load),
            encoding="utf-8",
        )
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))


    def _result_print(self, result: "Result") -> None:
        self.stdout.write(
            f"{result.label:<34} median {result.median_ms:7.1f} ms  p95 {result.p95_ms:7.1f} ms  "
            f"{result.queries:3d} queries"
        )


def _bench_store(code: str) -> Store:
    stores = Store.objects.filter(is_active=True)
    if code:
        store = stores.filter(code__iexact=code).first()
        if store is None:
            raise CommandError(f"No active store has code {code!r}. Pass the code of an open store.")
        return store
    store = (
        stores.annotate(levels=Count("stock_levels")).order_by("-levels", "code").first()
    )
    if store is None:
        raise CommandError(
            "The database has no active store. Load data first: manage.py seed_demo --scale large."
        )
    return store


def _bench_user(store: Store):
    """Return the benchmark's store-staff user, a member of the store only."""
    user, created = get_user_model().objects.get_or_create(username=BENCH_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if user.is_staff or user.is_superuser:
        raise CommandError(
            f"User {BENCH_USERNAME!r} exists and is staff or superuser. Delete it, then run "
            "the benchmark again, so it measures what store staff see."
        )
    user.groups.add(Group.objects.get(name=STORE_STAFF))
    StoreMembership.objects.get_or_create(user=user, store=store)
    return user


def _bench_date(store: Store) -> datetime.date:
    """Return the business day of the store's newest sale, so the sales KPI has rows to sum."""
    newest = Sale.objects.filter(store=store).aggregate(newest=Max("sold_at"))["newest"]
    return timezone.localdate(newest) if newest else timezone.localdate()


def _urls(store: Store, business_date: datetime.date) -> list[tuple[str, str]]:
    query = f"?store={store.pk}&date={business_date:%Y-%m-%d}"
    urls = [("Home", reverse("home:index") + f"?date={business_date:%Y-%m-%d}")]
    for panel in ("on-hand", "inbound", "sold", "low-stock"):
        urls.append((f"drill-down {panel}", reverse("home:overview-panel", args=[panel]) + query))
    urls += [
        ("API overview", "/api/home/overview" + query),
        ("API low-stock", f"/api/home/low-stock?store={store.pk}"),
        ("API stock-by-category", f"/api/home/stock-by-category?store={store.pk}"),
    ]
    return urls


def _measure(client: Client, label: str, url: str, *, repeat: int) -> Result:
    # The warm-up request compiles templates and fills caches; every request of a URL runs
    # the same queries, so its count is the URL's. With DEBUG on, the query log is a deque
    # capped at 9,000 entries, so it is emptied first.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        _get(client, url)
    query_count = len(queries.captured_queries)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        _get(client, url)
        timings.append((time.perf_counter() - started) * 1000)
    return Result(label=label, url=url, timings_ms=timings, queries=query_count)


def _get(client: Client, url: str) -> None:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise CommandError(
            f"{url} returned HTTP {response.status_code}, not 200. Check that the database is "
            "migrated and Home opens in a browser."
        )


def _report(results: list[Result], *, store: Store, repeat: int, note: str, load: float) -> str:
    home = results[0]
    verdict = "within" if home.median_ms < HOME_BUDGET_MS else "over"
    lines = [
        "# Home: server time",
        "",
        "Server time of Home, the four drill-downs of its store overview and the overview",
        "API, measured in process through django.test.Client as a store-staff user: the whole",
        "Django stack (middleware, view, queries, template rendering), without a network or an",
        f"ASGI server in front. Each URL is requested once to warm up and then {repeat} times;",
        "the table shows the median and the 95th percentile of those requests and the queries",
        "of one request. Home includes every section of the page, not only the overview.",
        "The date is the business day of the store's newest sale, so the sales figures sum",
        "a day of real rows.",
        "The overview caches its reads of the store's stock levels until the store's next",
        "ledger row. The last row measures Home with that cache missing on every request,",
        "as on the first view after a sale or transfer at the store.",
        f"The budget is {HOME_BUDGET_MS} ms of median server time for Home.",
        "",
        "## Environment",
        "",
        *_environment_lines(load=load),
        f"- Store: {store.code} {store.name} (the active store with the most stock records "
        "unless --store names one)",
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
        "| URL | median ms | p95 ms | queries |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {result.label}: `{result.url}` | {result.median_ms:.1f} | {result.p95_ms:.1f} "
            f"| {result.queries} |"
            for result in results
        ),
        "",
        f"Home's median of {home.median_ms:.1f} ms is {verdict} the {HOME_BUDGET_MS} ms budget.",
        "",
    ]
    return "\n".join(lines)


def _environment_lines(*, load: float) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT VERSION()" if connection.vendor == "mysql" else "SELECT sqlite_version()"
        )
        version = cursor.fetchone()[0]
    command = shlex.join(["python", Path(sys.argv[0]).name, *sys.argv[1:]])
    machine = (
        f"{cpu_model()}, {os.cpu_count()} cores, shared with other work (1-minute load "
        f"average {load:.1f} at the start), so single requests are noisy and the median is "
        "the figure to read"
    )
    return [
        f"- Date: {timezone.localtime():%Y-%m-%d %H:%M %Z}",
        f"- Machine: {machine}",
        f"- Database: {connection.vendor} {version}, database "
        f"{connection.settings_dict['NAME']}",
        f"- Python {platform.python_version()}, Django {django.get_version()}, "
        f"DEBUG={settings.DEBUG}",
        f"- Command: `{command}` (`make bench-home` runs it with DEBUG off)",
    ]
