"""Writes of a finalizing import to the live stock tables, a few SQL statements per chunk.

Finalizing applies thousands of rows per transaction, and through the ORM the per-object
work (a model instance per row, one UPDATE per stock level) cost far more than the
database. These helpers send multi-row statements instead and keep the locking rules of
inventory.services.stock.stock_levels_lock: existing levels are locked first, ordered by
primary key, and missing ones are inserted at zero with INSERT IGNORE and then locked.

Every statement carries its rows as a VALUES list and reads no other table, so InnoDB
does not take its table-wide AUTO-INC lock for it (with innodb_autoinc_lock_mode 1 or 2),
and a chunk holds its row locks for milliseconds. The caller is inside
transaction.atomic().
"""

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models.constants import OnConflict

from inventory.models import SaleLine, SerialUnit, StockLevel, StockMovement

# Columns of the ledger rows that movements_insert() takes, in tuple order. The other
# columns (sale, transfer) stay NULL for import adjustments.
MOVEMENT_COLUMNS = (
    "store_id", "product_id", "kind", "bucket", "quantity", "before", "after", "actor_id",
    "import_job_id", "import_row", "note", "created_at", "serial_unit_id",
)
# Columns of the sale lines that sale_lines_insert() takes, in tuple order.
SALE_LINE_COLUMNS = (
    "sale_id", "position", "product_id", "serial_unit_id", "quantity", "unit_price", "discount",
    "line_total",
)
UNIT_COLUMNS = ("serial", "product_id", "store_id", "status", "cost", "received_at", "updated_at")


@dataclass(slots=True)
class LockedLevel:
    """A stock level row locked by the current transaction, or one not inserted yet."""

    id: int | None
    store_id: int
    product_id: int
    on_hand: int
    inbound: int


@dataclass(slots=True)
class LockedUnit:
    """A serial unit row locked by the current transaction."""

    id: int
    serial: str
    product_id: int
    store_id: int
    status: str
    cost: Decimal | None
    received_at: datetime.date | None


def db_now() -> str:
    """Return the current time as the database stores a DateTimeField value."""
    from django.utils import timezone

    return connection.ops.adapt_datetimefield_value(timezone.now())


def levels_lock(
    pairs: Iterable[tuple[int, int]], *, insert_missing: bool = True
) -> dict[tuple[int, int], LockedLevel]:
    """Lock the stock levels of (store id, product id) pairs.

    Missing levels are inserted at zero and locked. With ``insert_missing`` off they are
    returned unsaved instead (id None, zero stock), and levels_save() inserts them with
    their final quantity, which takes one statement instead of three. That insert raises
    IntegrityError when another transaction created the same level meanwhile, so the
    caller rolls back and locks again with ``insert_missing`` on.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    locked = _levels_select(wanted)
    missing = wanted - locked.keys()
    if missing and not insert_missing:
        for store_id, product_id in missing:
            locked[(store_id, product_id)] = LockedLevel(None, store_id, product_id, 0, 0)
    elif missing:
        now = db_now()
        _insert(
            StockLevel, ("store_id", "product_id", "on_hand", "inbound", "updated_at"),
            [(store_id, product_id, 0, 0, now) for store_id, product_id in sorted(missing)],
            on_conflict=OnConflict.IGNORE,
        )
        locked |= _levels_select(missing)
    return locked


def levels_save(levels: Iterable[LockedLevel]) -> None:
    """Insert the unsaved levels and write the on-hand quantity of the locked ones."""
    now = db_now()
    new = []
    changed = []
    for level in levels:
        if level.id is None:
            new.append((level.store_id, level.product_id, level.on_hand, level.inbound, now))
        else:
            changed.append(
                (level.id, level.store_id, level.product_id, level.on_hand, level.inbound, now)
            )
    _insert(
        StockLevel, ("store_id", "product_id", "on_hand", "inbound", "updated_at"), sorted(new)
    )
    _insert(
        StockLevel, ("id", "store_id", "product_id", "on_hand", "inbound", "updated_at"), changed,
        on_conflict=OnConflict.UPDATE, update_columns=("on_hand", "updated_at"),
        unique_columns=("id",),
    )


def movements_insert(rows: Sequence[tuple]) -> None:
    """Append ledger rows, each a tuple in MOVEMENT_COLUMNS order."""
    _insert(StockMovement, MOVEMENT_COLUMNS, rows)


def sale_lines_insert(rows: Sequence[tuple]) -> None:
    """Insert sale lines, each a tuple in SALE_LINE_COLUMNS order.

    A model instance per line and bulk_create() took about 17 of the 32 s of finalizing
    a 200,000-line sales history on MariaDB.
    """
    _insert(SaleLine, SALE_LINE_COLUMNS, rows)


def units_lock(serials: Iterable[str]) -> dict[str, LockedUnit]:
    """Lock the serial units of the given serials; return them by serial."""
    serial_list = sorted(set(serials))
    if not serial_list:
        return {}
    table = _quoted_table(SerialUnit)
    columns = _quoted_columns(
        ("id", "serial", "product_id", "store_id", "status", "cost", "received_at")
    )
    placeholders = ", ".join(["%s"] * len(serial_list))
    sql = (
        f"SELECT {columns} FROM {table} WHERE {_quote('serial')} IN ({placeholders}) "
        f"ORDER BY {_quote('id')}{_for_update()}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, serial_list)
        rows = cursor.fetchall()
    units = {}
    for unit_id, serial, product_id, store_id, status, cost, received_at in rows:
        units[serial] = LockedUnit(
            unit_id, serial, product_id, store_id, status,
            _decimal_or_none(cost), _date_or_none(received_at),
        )
    return units


def units_insert(rows: Sequence[tuple]) -> None:
    """Create serial units, each a tuple in UNIT_COLUMNS order."""
    _insert(SerialUnit, UNIT_COLUMNS, rows)


def units_update(units: Sequence[LockedUnit]) -> None:
    """Write every column of locked serial units, keyed by their primary key."""
    if not units:
        return
    now = db_now()
    _insert(
        SerialUnit, ("id", *UNIT_COLUMNS),
        [
            (unit.id, unit.serial, unit.product_id, unit.store_id, unit.status, unit.cost,
             unit.received_at, now)
            for unit in units
        ],
        on_conflict=OnConflict.UPDATE,
        update_columns=("product_id", "store_id", "status", "cost", "received_at", "updated_at"),
        unique_columns=("id",),
    )


def _levels_select(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], LockedLevel]:
    # One condition per store with an IN list of its products: the unique index on
    # (store, product) serves it, and the SQL stays short for a chunk of thousands of pairs.
    by_store: dict[int, list[int]] = {}
    for store_id, product_id in sorted(pairs):
        by_store.setdefault(store_id, []).append(product_id)
    conditions = []
    params: list[int] = []
    for store_id, product_ids in by_store.items():
        placeholders = ", ".join(["%s"] * len(product_ids))
        conditions.append(f"({_quote('store_id')} = %s AND {_quote('product_id')} IN ({placeholders}))")
        params += [store_id, *product_ids]
    columns = _quoted_columns(("id", "store_id", "product_id", "on_hand", "inbound"))
    sql = (
        f"SELECT {columns} FROM {_quoted_table(StockLevel)} WHERE {' OR '.join(conditions)} "
        f"ORDER BY {_quote('id')}{_for_update()}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {(row[1], row[2]): LockedLevel(*row) for row in rows}


def _insert(
    model, columns: Sequence[str], rows: Sequence[tuple], *,
    on_conflict: OnConflict | None = None,
    update_columns: Sequence[str] = (), unique_columns: Sequence[str] = (),
) -> None:
    if not rows:
        return
    head = (
        f"{connection.ops.insert_statement(on_conflict=on_conflict)} {_quoted_table(model)} "
        f"({_quoted_columns(columns)}) VALUES "
    )
    suffix = connection.ops.on_conflict_suffix_sql(
        None, on_conflict, update_columns, unique_columns
    )
    suffix = f" {suffix}" if suffix else ""
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            literal = _mysql_literal_renderer(cursor)
            values = ", ".join([
                "(" + ", ".join([str(value) if type(value) is int else literal(value) for value in row]) + ")"
                for row in rows
            ])
            cursor.execute(head + values + suffix)
            return

        row_placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        max_params = connection.features.max_query_params
        batch_rows = max(1, max_params // len(columns)) if max_params else len(rows)
        for start in range(0, len(rows), batch_rows):
            batch = rows[start:start + batch_rows]
            sql = head + ", ".join([row_placeholder] * len(batch)) + suffix
            cursor.execute(sql, [value for row in batch for value in row])


def _mysql_literal_renderer(cursor) -> Callable[[object], str]:
    """Return a function that writes a value as a MySQL literal, escaped by mysqlclient.

    mysqlclient binds parameters by escaping each value in Python, about 1.5 µs a value,
    which cost more than the database's work for a chunk of ledger rows. So _insert()
    writes integers out itself, and this function has the driver escape each distinct
    other value (the chunk's timestamp, a status, a cost) once per statement.
    """
    literals: dict[tuple[type, object], str] = {}

    def render(value: object) -> str:
        key = (type(value), value)
        literal = literals.get(key)
        if literal is None:
            literal = literals[key] = cursor.mogrify("%s", (value,))
        return literal

    return render


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _quoted_table(model) -> str:
    return _quote(model._meta.db_table)


def _quoted_columns(columns: Iterable[str]) -> str:
    return ", ".join(_quote(column) for column in columns)


def _decimal_or_none(value) -> Decimal | None:
    # SQLite returns DECIMAL columns as float or text; MySQL returns Decimal.
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _date_or_none(value) -> datetime.date | None:
    # SQLite returns DATE columns as text.
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))
