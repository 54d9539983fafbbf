"""Create the load test's accounts and write what each simulated user may act on."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from inventory.models import SerialStatus, SerialUnit, StockLevel, Store, StoreMembership
from inventory.roles import OPERATIONS, STORE_STAFF
from ops_portal.tokens import api_token_create

USERNAME_PREFIX = "loadtest-"
STORES_PER_USER = 2
# Serials handed to each user for Quick Sale; each can be sold once, and a run of a few
# minutes sells far fewer.
SERIALS_PER_USER = 400
PLAIN_SKUS_PER_STORE = 40
MIN_PLAIN_ON_HAND = 50


class Command(BaseCommand):
    help = (
        "Create store staff accounts loadtest-01.. (each a member of its own stores), an "
        "operations account with an API token, and write the accounts with the SKUs and "
        "serials each may sell to a JSON file for loadtests/locustfile.py."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=40,
                            help="Store staff accounts to create (default: 40).")
        parser.add_argument("--password", required=True, help="Password of every account.")
        parser.add_argument("--output", type=Path, required=True, help="JSON file to write.")

    def handle(self, *args, **options) -> None:
        stores = list(Store.objects.filter(is_active=True).order_by("code"))
        if len(stores) < STORES_PER_USER:
            raise CommandError(
                f"The database has {len(stores)} active stores; the load test needs the large "
                "demo data. Run `manage.py seed_demo --scale large` first."
            )
        users = []
        with transaction.atomic():
            staff_group = Group.objects.get(name=STORE_STAFF)
            for number in range(1, options["users"] + 1):
                own = [stores[(number * STORES_PER_USER + offset) % len(stores)]
                       for offset in range(STORES_PER_USER)]
                user = self._account(f"{USERNAME_PREFIX}{number:02d}", options["password"],
                                     staff_group, is_staff=False)
                StoreMembership.objects.filter(user=user).exclude(store__in=own).delete()
                for store in own:
                    StoreMembership.objects.get_or_create(user=user, store=store)
                users.append({"username": user.username, "stores": [self._store(s) for s in own]})
            self._serials_assign(users)
            operator = self._account(f"{USERNAME_PREFIX}operations", options["password"],
                                     Group.objects.get(name=OPERATIONS), is_staff=True)
            _token, key = api_token_create(user=operator, name="Load test")

        plan = {"password": options["password"], "users": users,
                "operations": {"username": operator.username, "token": key}}
        options["output"].parent.mkdir(parents=True, exist_ok=True)
        options["output"].write_text(json.dumps(plan, indent=1))
        self.stdout.write(f"Wrote {len(users)} load test accounts to {options['output']}.")

    def _account(self, username: str, password: str, group: Group, *, is_staff: bool):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.is_staff = is_staff
        user.save()
        user.groups.set([group])
        return user

    def _store(self, store: Store) -> dict:
        plain = list(
            StockLevel.objects.filter(store=store, product__is_serialized=False,
                                      on_hand__gte=MIN_PLAIN_ON_HAND)
            .order_by("-on_hand").values_list("product__sku", flat=True)[:PLAIN_SKUS_PER_STORE]
        )
        if not plain:
            raise CommandError(
                f"Store {store.code} has no plain SKU with at least {MIN_PLAIN_ON_HAND} on hand; "
                "the load test's sales and transfers need some. Load the large demo data."
            )
        return {"id": store.pk, "code": store.code, "plain_skus": plain, "serials": []}

    def _serials_assign(self, users: list[dict]) -> None:
        """Give each user in-stock serials of its first store; users share no serial."""
        for user in users:
            store = user["stores"][0]
            taken = {serial for other in users for s in other["stores"] for serial in s["serials"]}
            candidates = (
                SerialUnit.objects.filter(store_id=store["id"], status=SerialStatus.IN_STOCK)
                .order_by("-pk").values_list("serial", flat=True)[:SERIALS_PER_USER * 2]
            )
            store["serials"] = [serial for serial in candidates if serial not in taken][
                :SERIALS_PER_USER
            ]
