"""Load demo stores, stock, prices, sales history, settlements and the demo accounts."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from inventory.models import Store
from ops_portal.demo import DEMO_ACCOUNTS
from ops_portal.demo_data import (
    SCALES,
    DemoDataError,
    DemoDataState,
    DemoScale,
    demo_accounts_ensure,
    demo_data_seed,
    demo_data_state,
    demo_member_stores,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Load demo data: stores, products, serial units, stock, price lists, 90 days of "
        "sales up to today, settlements, and the demo accounts. Running it again adds no "
        "data and resets the demo accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", choices=sorted(SCALES), default="small",
            help="Size of the data set. small: 6 stores and 300 SKUs, loads in seconds. "
                 "large: 50 stores, 20,000 SKUs, about 1,000,000 serial units and "
                 "1,000,000 sale lines, for benchmarks (default: small).",
        )
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Do nothing when the database already has a store.",
        )
        parser.add_argument(
            "--force", action="store_true",
            help="Run even when DEBUG is off. The demo accounts have public passwords, "
                 "so never use it on a shared server.",
        )

    def handle(self, *args, **options) -> None:
        if options["if_empty"] and Store.objects.exists():
            self.stdout.write(
                "The database already has stores, so seed_demo --if-empty added nothing."
            )
            return
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with public passwords, so it runs only when "
                "DEBUG is on. Set DJANGO_DEBUG=1 for a local database, or pass --force "
                "to load the demo data anyway."
            )
        scale = SCALES[options["scale"]]

        try:
            if demo_data_state(scale=scale) == DemoDataState.LOADED:
                logger.info("demo_data.already_loaded scale=%s", scale.name)
                self.stdout.write(
                    f"The {scale.name} demo data is already loaded, so only the demo "
                    "accounts are reset."
                )
            else:
                self._seed(scale)
            demo_accounts_ensure(member_stores=demo_member_stores(scale=scale))
        except DemoDataError as error:
            raise CommandError(str(error)) from error
        self._accounts_print(scale)

    def _seed(self, scale: DemoScale) -> None:
        database = settings.DATABASES["default"]["NAME"]
        self.stdout.write(
            f"Loading the {scale.name} demo data into {connection.vendor} {database}..."
        )
        started = time.monotonic()
        demo_data_seed(scale=scale, report=self._step_print)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.1f} s.")
        )

    def _step_print(self, name: str, counts: dict[str, int], seconds: float) -> None:
        summary = ", ".join(f"{count:,} {label}" for label, count in counts.items())
        self.stdout.write(f"  {name:<12} {summary} ({seconds:.1f} s)")

    def _accounts_print(self, scale: DemoScale) -> None:
        member_codes = ", ".join(store.code for store in demo_member_stores(scale=scale))
        self.stdout.write("Demo logins:")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<12} {account.password:<22} {account.role}")
        self.stdout.write(f"  (staff is a member of stores {member_codes})")
        self.stdout.write("These accounts are for local use only.")
