"""Database lookups that validation makes once per chunk instead of once per row."""

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from inventory.access import store_ids_for_user
from inventory.models import SaleLine, SerialStatus, SerialUnit, Store
from inventory.selectors import products_with_skus, sku_key

# Store codes as written in a file, remembered with the store they name. A file names a
# few hundred, and this caps what a file of garbage codes can add.
MAX_REMEMBERED_CODES = 10_000
# Serials per lookup query; SQLite before 3.32 allows 999 parameters.
SERIALS_PER_QUERY = 900


@dataclass(frozen=True)
class ProductRef:
    id: int
    sku: str
    is_serialized: bool


@dataclass(frozen=True)
class UnitRef:
    id: int
    serial: str
    product_id: int
    store_id: int
    status: str


class StoreDirectory:
    """Every store by code, and which of them the job's user may act on."""

    def __init__(self, user: AbstractBaseUser) -> None:
        self.by_code = {
            store.code.casefold(): store
            for store in Store.objects.only("id", "code", "name", "is_active")
        }
        self.allowed_ids = store_ids_for_user(user)
        self._found: dict[str, Store | None] = {}
        self._usable: dict[str, int | None] = {}

    def find(self, code: str) -> Store | None:
        try:
            return self._found[code]
        except KeyError:
            store = self.by_code.get(code.strip().casefold())
            if len(self._found) < MAX_REMEMBERED_CODES:
                self._found[code] = store
            return store

    def allowed(self, store: Store) -> bool:
        return self.allowed_ids is None or store.pk in self.allowed_ids

    def usable_id(self, code: str) -> int | None:
        """Return the id of the active store that a code names and the user may act on, else None."""
        try:
            return self._usable[code]
        except KeyError:
            store = self.find(code)
            usable = store.pk if store is not None and store.is_active and self.allowed(store) else None
            if len(self._usable) < MAX_REMEMBERED_CODES:
                self._usable[code] = usable
            return usable


def products_by_sku(skus: set[str]) -> dict[str, ProductRef]:
    """Return the products of the given SKUs, by SKU as given; SKUs match in any letter case."""
    found: dict[str, ProductRef] = {}
    sku_list = sorted(skus)
    for start in range(0, len(sku_list), 2_000):
        batch = sku_list[start:start + 2_000]
        by_key = {
            sku_key(sku): ProductRef(pk, sku, is_serialized)
            for pk, sku, is_serialized in products_with_skus(batch).values_list(
                "id", "sku", "is_serialized"
            )
        }
        for sku in batch:
            product = by_key.get(sku_key(sku))
            if product is not None:
                found[sku] = product
    return found


def units_by_serial(serials: set[str]) -> dict[str, UnitRef]:
    """Return the serial units of the given serials, by serial.

    A plain statement rather than a queryset: building a queryset's IN list of 2,000
    serials cost more worker time than the database took to run it.
    """
    found: dict[str, UnitRef] = {}
    serial_list = sorted(serials)
    quote = connection.ops.quote_name
    for start in range(0, len(serial_list), SERIALS_PER_QUERY):
        batch = serial_list[start:start + SERIALS_PER_QUERY]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, serial, product_id, store_id, status FROM "
                f"{quote(SerialUnit._meta.db_table)} WHERE serial IN ({', '.join(['%s'] * len(batch))})",
                batch,
            )
            rows = cursor.fetchall()
        for pk, serial, product_id, store_id, status in rows:
            found[serial] = UnitRef(pk, serial, product_id, store_id, status)
    return found


def sold_unit_sales(unit_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Return, per sold unit id, the id and day of the sale that sold it."""
    result: dict[int, tuple[int, str]] = {}
    lines = (
        SaleLine.objects.filter(serial_unit_id__in=unit_ids, quantity__gt=0)
        .select_related("sale")
        .order_by("sale__sold_at")
    )
    for line in lines:
        result[line.serial_unit_id] = (line.sale_id, f"{line.sale.sold_at:%-d %b %Y}")
    return result


SOLD = SerialStatus.SOLD


class SerialsListed:
    """The serials that a file lists, with the first row of each.

    They are kept in a SQLite file instead of a dict, so the worker's memory does not
    grow with the serials of the file (a dict costs an estimated 130 bytes per serial).
    The file is emptied at its first use, because parsing always starts at the first
    row.
    """

    # Serials per SELECT; SQLite before 3.32 allows 999 parameters.
    BATCH = 900

    def __init__(self, path: Path) -> None:
        self.path = path
        self._emptied = False

    def first_rows(self, serials: Iterable[str]) -> dict[str, int]:
        """Return the row that first listed each serial, for those listed before."""
        serial_list = list(serials)
        found: dict[str, int] = {}
        with self._connect() as connection:
            for start in range(0, len(serial_list), self.BATCH):
                batch = serial_list[start:start + self.BATCH]
                placeholders = ", ".join("?" * len(batch))
                found.update(connection.execute(
                    f"SELECT serial, row_number FROM listed WHERE serial IN ({placeholders})", batch
                ))
        return found

    def add(self, first_rows: dict[str, int]) -> None:
        """Record serials with their first row; serials recorded before keep theirs."""
        with self._connect() as connection:
            connection.executemany(
                "INSERT OR IGNORE INTO listed (serial, row_number) VALUES (?, ?)",
                first_rows.items(),
            )

    def _connect(self) -> "_Connection":
        if not self._emptied:
            self.path.unlink(missing_ok=True)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._emptied = True
        connection = sqlite3.connect(self.path)
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS listed (serial TEXT PRIMARY KEY, row_number INTEGER NOT NULL) "
            "WITHOUT ROWID"
        )
        return _Connection(connection)


class _Connection:
    """A SQLite connection that commits and closes at the end of a with block."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        return self.connection

    def __exit__(self, *exc_info) -> None:
        try:
            if exc_info[0] is None:
                self.connection.commit()
        finally:
            self.connection.close()
