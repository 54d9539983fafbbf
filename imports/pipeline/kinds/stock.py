"""Stock count imports: on-hand per store and SKU, and serial units by serial.

Plain rows set the on-hand of their store and SKU to the sum of that pair's rows, since a
count is often listed by bin or lot. Serial rows create or update their unit (store,
product, status, cost, received date), and each unit that enters or leaves a store's
on-hand changes that store's level by one. Every change writes a ledger row keyed by the
job and the row that caused it.
"""

import datetime
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as futures_wait
from decimal import Decimal
from typing import NamedTuple, TypeVar

from django.db import IntegrityError, connection, transaction

from imports.models import ImportJob, ImportKind, ImportRowError, StagedStock
from imports.pipeline.kinds.base import EMPTY, ChunkResult, KindHandler, RowErrors, values_from_outcomes
from imports.pipeline.kinds.lookups import (
    ProductRef,
    SerialsListed,
    StoreDirectory,
    products_by_sku,
    sold_unit_sales,
    units_by_serial,
)
from imports.pipeline.kinds.stock_serials import ChunkNeedsRows, SerialChunks
from imports.pipeline.kinds.stock_totals import PlainTotals
from imports.pipeline.live_writes import (
    LockedLevel,
    LockedUnit,
    db_now,
    levels_lock,
    levels_save,
    movements_insert,
    units_insert,
    units_lock,
    units_update,
)
from imports.pipeline.progress import ProgressReporter
from imports.pipeline.staging import staging_dir
from imports.problems import ImportErrorCode, ValueProblem
from imports.readers import RawRow
from imports.values import date_parse, quantity_parse, serial_parse, sku_parse, status_parse
from inventory.models import (
    ON_HAND_STATUSES,
    MovementKind,
    SerialStatus,
    SerialUnit,
    StockBucket,
)
from ops_portal.database_errors import connection_drop

logger = logging.getLogger(__name__)

FINALIZE_CHUNK = 2_000
# Pairs, and serial rows, per transaction when MySQL or MariaDB applies them by set-based
# statements, which hold the chunk's locks for a few tens of milliseconds.
PLAIN_SQL_CHUNK = 5_000
SERIAL_SQL_CHUNK = 5_000
# How often the thread that applies plain pairs reports progress and checks for a cancel
# request while it waits for the serial rows' thread.
SIDE_BY_SIDE_POLL_SECONDS = 0.25
# The time of applying one serial row, counted in plain pairs, when the two run side by
# side: 1.7 (1,000,000-row count) to 2.0 (100,000 rows) in the import benchmark on 2 cores.
SERIAL_ROW_IN_PAIRS = 1.8
# Serials that parsing collects before it records them with their first rows.
SERIALS_LISTED_BATCH = 5_000
# Products kept between validation chunks; a catalog larger than this is fetched again.
MAX_REMEMBERED_PRODUCTS = 100_000
ON_HAND = {str(status) for status in ON_HAND_STATUSES}

T = TypeVar("T")


class StockHandler(KindHandler):
    kind = ImportKind.STOCK
    staged_model = StagedStock
    number_fields = ("unit_cost",)
    date_fields = ("received_at",)
    distinct_fields = ("serial",)
    splits_validation = True

    def __init__(self, job: ImportJob) -> None:
        super().__init__(job)
        self.stores: StoreDirectory | None = None
        # A serial listed twice is rejected. Parsing records the first row of each serial
        # in serials_listed, and seen_serials contains those of the chunk being validated,
        # so validating a chunk needs no chunk before it.
        self.serials_listed = SerialsListed(staging_dir(job) / "serials.sqlite3")
        self.seen_serials: dict[str, int] = {}
        self._serials_pending: dict[str, int] = {}
        self._serial_index: int | None = None
        self.products: dict[str, ProductRef] = {}
        self.plain_totals = PlainTotals(job)
        self._serial_rows: int | None = None

    def observe(self, raw: RawRow) -> None:
        super().observe(raw)
        if raw.error is not None or self._serial_index is None or self._serial_index >= len(raw.cells):
            return
        value = raw.cells[self._serial_index]
        if not value:
            return
        serial = _serial_listed_as(value)
        if serial is not None and serial not in self._serials_pending:
            self._serials_pending[serial] = raw.number
            if len(self._serials_pending) >= SERIALS_LISTED_BATCH:
                self._serials_record()

    def columns_bind(self, table) -> None:
        super().columns_bind(table)
        self._serial_index = self.match.indexes.get("serial")

    def rows_observed(self) -> None:
        self._serials_record()

    def _serials_record(self) -> None:
        self.serials_listed.add(self._serials_pending)
        self._serials_pending = {}

    def validate_chunk(self, rows: list[RawRow]) -> ChunkResult:
        if self.stores is None:
            self.stores = StoreDirectory(self.job.created_by)
        result = ChunkResult()
        columns = [self.column_parse(rows, name, parser) for name, parser in self._parsers()]
        default_store = self.job.default_store.code if self.job.default_store_id else None
        unparsed = _rows_with_problems(rows, columns, store_required=default_store is None)

        products = self._products_for({sku for sku in columns[1] if type(sku) is str})
        serials = {serial for serial in columns[2] if type(serial) is str}
        units = units_by_serial(serials)
        sold = sold_unit_sales([u.id for u in units.values() if u.status == SerialStatus.SOLD])
        self.seen_serials = self.serials_listed.first_rows(serials)

        job_id = self.job.pk
        for position, (raw, *outcomes) in enumerate(zip(rows, *columns)):
            if position not in unparsed:
                staged = self._row_stage_if_valid(raw, outcomes, default_store, products, units)
                if staged is not None:
                    result.rows_ok += 1
                    result.store_ids.add(staged[2])
                    result.staged.append(staged)
                    continue
            # The row has a problem, or one of the checks above could not pass it: it takes
            # the full path, which records each problem with its message.
            errors = self.read_error(raw) or RowErrors(self, raw)
            values = None
            if not errors:
                values = _values_if_valid(outcomes)
                if values is None:
                    values = self._row_parse(raw, errors)
            if values is not None and not errors:
                self._row_resolve(raw, errors, values, products, units, sold)
            if errors:
                result.errors += errors.items
                result.rows_bad += 1
                continue
            result.rows_ok += 1
            result.store_ids.add(values["store_id"])
            result.staged.append((
                job_id, raw.number, values["store_id"], values["product_id"],
                values["serial"] or "", values["quantity"], values["status"] or "",
                values["unit_cost"], values["received_at"],
            ))
        return result

    def _row_stage_if_valid(self, raw, outcomes, default_store, products, units) -> tuple | None:
        """Return the staged tuple of a row that passes every check, else None.

        The common case of a valid row without building its values; any row this does not
        pass goes through _row_parse() and _row_resolve(), which decide and report.
        """
        store_code, sku, serial, quantity, status, unit_cost, received_at = outcomes
        if store_code is EMPTY:
            if default_store is None:
                return None
            store_code = default_store
        store_id = self.stores.usable_id(store_code)
        product = products.get(sku)
        if store_id is None or product is None:
            return None
        unit_cost = None if unit_cost is EMPTY else unit_cost
        if unit_cost is not None and unit_cost < 0:
            return None
        received_at = None if received_at is EMPTY else received_at
        if serial is EMPTY:
            if product.is_serialized or quantity is EMPTY or quantity < 0:
                return None
            return (self.job.pk, raw.number, store_id, product.id, "", quantity, "",
                    unit_cost, received_at)

        if not product.is_serialized or (quantity is not EMPTY and quantity != 1):
            return None
        if status is EMPTY:
            status = SerialStatus.IN_STOCK
        unit = units.get(serial)
        if (
            status == SerialStatus.SOLD
            or self.seen_serials.get(serial, raw.number) != raw.number
            or (unit is not None and (unit.status == SerialStatus.SOLD or unit.product_id != product.id))
        ):
            return None
        return (self.job.pk, raw.number, store_id, product.id, serial, 1, status,
                unit_cost, received_at)

    def _products_for(self, skus: set[str]) -> dict[str, ProductRef]:
        """Return the products of the SKUs by SKU, fetching only those not seen before.

        Unknown SKUs are asked for again in each chunk, so a product created while the
        file is validated is found.
        """
        missing = skus - self.products.keys()
        if missing:
            if len(self.products) + len(missing) > MAX_REMEMBERED_PRODUCTS:
                self.products = {}
            self.products |= products_by_sku(missing)
        return self.products

    def _parsers(self) -> list[tuple[str, Callable]]:
        """Return the row's fields and their parsers, in the order of PARSED_VALUES."""
        return [
            ("store", str),
            ("sku", sku_parse),
            ("serial", serial_parse),
            ("qty", self._quantity),
            ("status", status_parse),
            ("unit_cost", self.money),
            ("received_at", self._received_date),
        ]

    def _row_parse(self, raw: RawRow, errors: RowErrors) -> dict:
        return {
            # A file without a store column counts the import's default store.
            "store": self.parse(raw, errors, "store", str,
                                required=self.job.default_store_id is None,
                                default=self.job.default_store.code if self.job.default_store_id else None),
            "sku": self.parse(raw, errors, "sku", sku_parse, required=True),
            "serial": self.parse(raw, errors, "serial", serial_parse),
            "quantity": self.parse(raw, errors, "qty", self._quantity),
            "status": self.parse(raw, errors, "status", status_parse),
            "unit_cost": self.parse(raw, errors, "unit_cost", self.money),
            "received_at": self.parse(raw, errors, "received_at", self._received_date),
        }

    def _quantity(self, value: object) -> int:
        return quantity_parse(value, self.style)

    def _received_date(self, value: object) -> datetime.date:
        return date_parse(value, self.order, date1904=self.table.date1904)

    def _row_resolve(self, raw, errors, values, products, units, sold) -> None:
        store = self.stores.find(values["store"])
        if store is None:
            errors.add("store", values["store"], "store_unknown",
                       f"Store {values['store']} is not known. Fix the code or add the store in the admin.")
        elif not self.stores.allowed(store):
            errors.add("store", values["store"], "store_not_allowed",
                       f"Store {store.code} is not one of your stores. Ask back office to import it.")
        elif not store.is_active:
            errors.add("store", values["store"], "store_inactive",
                       f"Store {store.code} is closed. Reopen it in the admin or remove its rows.")
        else:
            values["store_id"] = store.pk

        product = products.get(values["sku"])
        if product is None:
            errors.add("sku", values["sku"], "sku_unknown",
                       f"SKU {values['sku']} is not known. Import it as a product first.")
            return
        values["product_id"] = product.id

        if values["unit_cost"] is not None and values["unit_cost"] < 0:
            errors.add("unit_cost", values["unit_cost"], ImportErrorCode.NUMBER_INVALID,
                       f"Cost {values['unit_cost']} is negative. Enter zero or more.")
        if values["serial"]:
            self._serial_check(raw, errors, values, product, units, sold)
        else:
            self._plain_check(raw, errors, values, product)

    def _serial_check(self, raw, errors, values, product, units, sold) -> None:
        serial = values["serial"]
        if not product.is_serialized:
            errors.add("serial", serial, "serial_not_expected",
                       f"SKU {product.sku} is not serialized. Leave the serial empty and count its quantity.")
        if values["quantity"] not in (None, 1):
            errors.add("qty", values["quantity"], ImportErrorCode.QUANTITY_INVALID,
                       f"A serial row counts one unit, but its quantity is {values['quantity']}. "
                       "Set it to 1 or leave it empty.")
        values["quantity"] = 1
        first = self.seen_serials.get(serial)
        if first is not None and first != raw.number:
            errors.add("serial", serial, "serial_duplicate",
                       f"Serial {serial} is listed again; row {first} lists it first. Remove one of them.")
        unit = units.get(serial)
        if unit is not None and unit.status == SerialStatus.SOLD:
            sale = sold.get(unit.id)
            where = f" (sale {sale[0]}, {sale[1]})" if sale else ""
            errors.add("serial", serial, "serial_sold",
                       f"Serial {serial} is already sold{where}. A count cannot bring a sold unit "
                       "back; record a return instead.")
        if unit is not None and unit.product_id != product.id:
            errors.add("sku", product.sku, "serial_other_product",
                       f"Serial {serial} belongs to another SKU. Fix the SKU or the serial.")
        values["status"] = values["status"] or SerialStatus.IN_STOCK
        if values["status"] == SerialStatus.SOLD:
            errors.add("status", values["status"], ImportErrorCode.STATUS_INVALID,
                       "A stock count cannot mark a unit sold. Record the sale instead.")

    def _plain_check(self, raw, errors, values, product) -> None:
        if product.is_serialized:
            errors.add("serial", "", "serial_required",
                       f"SKU {product.sku} is serialized. List each unit on its own row with its serial.")
        if values["quantity"] is None:
            errors.add("qty", "", ImportErrorCode.VALUE_MISSING,
                       f"Row {raw.number} has no quantity. Enter the counted quantity.")
        elif values["quantity"] < 0:
            errors.add("qty", values["quantity"], ImportErrorCode.QUANTITY_INVALID,
                       f"Quantity {values['quantity']} is negative. A count is zero or more.")
        values["status"] = None

    # Finalizing.

    def _staged(self):
        return StagedStock.objects.filter(job=self.job)

    def finalize_total(self) -> int:
        return self.plain_totals.count() + self._serial_rows_count()

    def _serial_rows_count(self) -> int:
        if self._serial_rows is None:
            self._serial_rows = self._staged().exclude(serial="").count()
        return self._serial_rows

    def finalize(self, *, reporter: ProgressReporter, cancel_check: Callable[[], None]) -> None:
        if self.plain_totals.set_based and not connection.in_atomic_block:
            self._finalize_side_by_side(reporter, cancel_check)
            return
        plain_done = self._finalize_plain(reporter.advance, cancel_check)
        serials_done = self._finalize_serials(
            lambda done: reporter.advance(plain_done + done), cancel_check
        )
        reporter.advance(plain_done + serials_done, force=True)

    def _finalize_side_by_side(self, reporter: ProgressReporter,
                               cancel_check: Callable[[], None]) -> None:
        """Apply the plain pairs on this connection and the serial rows on a second one, at once.

        The two touch different stock levels (a serialized SKU has no plain rows) and
        keep separate checkpoint keys, so MariaDB runs both on two cores. Their ledger
        inserts still take turns while innodb_autoinc_lock_mode is 1, MariaDB's default,
        because each holds the ledger's AUTO-INC lock until it ends. This thread alone
        reports progress. Each thread checks for a cancel request after each of its
        chunks. When this thread stops on an error or a cancel, the serial thread stops
        after its current chunk, whose transaction commits with its checkpoint or not at
        all. An error or a cancel seen by the serial thread ends the job as one seen here.

        When the pairs outweigh the serial rows, the serial thread applies the pairs after
        _plain_split() once its rows are done, so the two threads end about together.
        """
        split = self._plain_split()
        done = {"plain": 0, "serials": 0, "plain_tail": 0}
        stop = threading.Event()

        def serials_stop_check() -> None:
            if stop.is_set():
                raise FinalizeStopped
            cancel_check()

        def serials_progress(count: int) -> None:
            done["serials"] = count

        def tail_progress(count: int) -> None:
            done["plain_tail"] = count

        def serials_run() -> None:
            try:
                # A resumed job may have no serial chunk left, which reports no progress.
                serials_progress(self._finalize_serials(serials_progress, serials_stop_check))
                if split is not None:
                    self._finalize_plain_tail(split, tail_progress, serials_stop_check)
            finally:
                # The thread's own connection; a broken one is dropped without an error.
                connection_drop()

        def plain_progress(count: int) -> None:
            done["plain"] = count
            reporter.advance(sum(done.values()))

        def plain_stop_check() -> None:
            cancel_check()
            _raise_if_failed(serials)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="finalize-serials") as executor:
            serials = executor.submit(serials_run)
            try:
                self._finalize_plain(plain_progress, plain_stop_check, through=split)
                while True:
                    try:
                        serials.result(timeout=SIDE_BY_SIDE_POLL_SECONDS)
                        break
                    except FutureTimeout:
                        reporter.advance(sum(done.values()))
                        cancel_check()
            except BaseException:
                stop.set()
                futures_wait([serials])
                raise
        reporter.advance(sum(done.values()), force=True)

    def _plain_split(self) -> tuple[int, int] | None:
        """Return the last pair for this thread when the serial thread applies the pairs after it.

        Each thread's time is estimated from its pairs and serial rows. The split is kept
        in the checkpoint, so a resumed job splits where it did. A checkpoint with pairs
        applied before splits existed gets no split, and this thread applies the rest.
        """
        checkpoint = self._checkpoint()
        if "plain_split" in checkpoint:
            split = checkpoint["plain_split"]
            return tuple(split) if split else None
        if "plain_after" in checkpoint:
            return None
        pairs = self.plain_totals.count()
        own_pairs = math.ceil((pairs + SERIAL_ROW_IN_PAIRS * self._serial_rows_count()) / 2)
        # A remainder under one chunk is not worth the second pass over the staged rows.
        split = (
            self.plain_totals.pair_at(own_pairs - 1)
            if 0 < own_pairs <= pairs - PLAIN_SQL_CHUNK else None
        )
        with transaction.atomic():
            self.checkpoint_save(plain_split=list(split) if split else None)
        return split

    def _checkpoint(self) -> dict:
        return dict(self.job.checkpoint or {})

    def _finalize_plain(self, progress: Callable[[int], None],
                        cancel_check: Callable[[], None],
                        through: tuple[int, int] | None = None) -> int:
        """Set each (store, SKU) pair's on-hand to the sum of its plain rows, pair by pair.

        Pairs are read in chunks after the last one applied, so a resumed job goes on
        from its checkpoint and the worker keeps no more than one chunk of pairs in memory.
        With ``through`` (set-based writes only), the pairs after it are left for
        _finalize_plain_tail(). ``progress`` gets the number of pairs done; returns that
        number at the end.
        """
        totals = self.plain_totals
        self.counters["lines_combined"] = self._staged().filter(serial="").count() - totals.count()

        after = tuple(self._checkpoint().get("plain_after") or (0, 0))
        done = totals.count_through(after) if after != (0, 0) else 0
        if totals.set_based:
            done = self._plain_sql_apply(totals, after, done, progress, cancel_check, through=through)
            totals.close()
            progress(done)
            return done
        while chunk := totals.chunk_after(after, FINALIZE_CHUNK):
            self._plain_chunk_apply(chunk)
            after = chunk[-1][:2]
            done += len(chunk)
            progress(done)
            cancel_check()
        totals.close()
        progress(done)
        return done

    def _finalize_plain_tail(self, split: tuple[int, int], progress: Callable[[int], None],
                             cancel_check: Callable[[], None]) -> int:
        """Apply the pairs after ``split`` on this thread's connection; return the pairs done.

        The totals are a temporary table of each connection, so this thread builds its
        own, of the pairs after ``split`` only, and keeps its place in the checkpoint
        under plain_tail_after.
        """
        totals = PlainTotals(self.job, after=split)
        after = tuple(self._checkpoint().get("plain_tail_after") or split)
        try:
            done = self._plain_sql_apply(
                totals, after, totals.count_through(after), progress, cancel_check,
                checkpoint_key="plain_tail_after",
            )
        finally:
            totals.close()
        progress(done)
        return done

    def _plain_sql_apply(self, totals: PlainTotals, after: tuple[int, int], done: int,
                         progress: Callable[[int], None], cancel_check: Callable[[], None], *,
                         through: tuple[int, int] | None = None,
                         checkpoint_key: str = "plain_after") -> int:
        """Apply the totals chunk by chunk with set-based statements; return the pairs done."""
        while found := totals.chunk_last_after(after, PLAIN_SQL_CHUNK, through):
            size, last = found
            _with_level_insert_retry(
                lambda insert_missing: self._plain_sql_chunk_write(
                    totals, after, last, size, insert_missing, checkpoint_key
                )
            )
            after = last
            done += size
            progress(done)
            cancel_check()
        return done

    def _plain_sql_chunk_write(self, totals: PlainTotals, after: tuple[int, int],
                               last: tuple[int, int], size: int, insert_missing: bool,
                               checkpoint_key: str) -> None:
        """Apply one chunk of totals with its checkpoint and counts in one transaction."""
        with transaction.atomic():
            changed = totals.chunk_apply(
                after=after, last=last, size=size, insert_missing=insert_missing,
                actor_id=self.job.created_by_id, now=db_now(),
            )
            self.checkpoint_save({"levels_changed": changed}, **{checkpoint_key: list(last)})

    def _plain_chunk_apply(self, chunk: list[tuple[int, int, int, int]]) -> None:
        _with_level_insert_retry(
            lambda insert_missing: self._plain_chunk_write(chunk, insert_missing)
        )

    def _plain_chunk_write(self, chunk: list[tuple[int, int, int, int]],
                           insert_missing: bool) -> None:
        """Set the chunk's levels in one transaction, with its checkpoint and counts."""
        now = db_now()
        with transaction.atomic():
            levels = levels_lock(
                ((store_id, product_id) for store_id, product_id, _, _ in chunk),
                insert_missing=insert_missing,
            )
            changed = set()
            movements = []
            for store_id, product_id, total, first_row in chunk:
                level = levels[(store_id, product_id)]
                if total == level.on_hand:
                    continue
                movements.append(self._movement(level, total - level.on_hand, first_row, now))
                level.on_hand = total
                changed.add((store_id, product_id))
            levels_save(_levels_to_save(levels, changed))
            movements_insert(movements)
            last = chunk[-1]
            self.checkpoint_save({"levels_changed": len(movements)}, plain_after=[last[0], last[1]])

    def _movement(self, level: LockedLevel, quantity: int, row_number: int, now: str,
                  unit_id: int | None = None) -> tuple:
        """Return a ledger row in MOVEMENT_COLUMNS order for a change of a level's on-hand."""
        return (
            level.store_id, level.product_id, MovementKind.IMPORT_ADJUSTMENT.value,
            StockBucket.ON_HAND.value, quantity, level.on_hand, level.on_hand + quantity,
            self.job.created_by_id, self.job.pk, row_number, "", now, unit_id,
        )

    def _finalize_serials(self, progress: Callable[[int], None],
                          cancel_check: Callable[[], None]) -> int:
        """Apply the serial rows in row order, chunk by chunk after the checkpoint.

        ``progress`` gets the number of serial rows done; returns that number at the end.
        """
        serial_rows = self._staged().exclude(serial="")
        after = int(self._checkpoint().get("serial_after") or 0)
        done = serial_rows.filter(row_number__lte=after).count() if after else 0
        if self.plain_totals.set_based:
            return self._serials_sql_apply(serial_rows, after, done, progress, cancel_check)
        while True:
            rows = [
                StagedSerial(*values)
                for values in serial_rows.filter(row_number__gt=after)
                .order_by("row_number")
                .values_list(*StagedSerial._fields)[:FINALIZE_CHUNK]
            ]
            if not rows:
                break
            self._serial_chunk_apply(rows)
            after = rows[-1].row_number
            done += len(rows)
            progress(done)
            cancel_check()
        return done

    def _serials_sql_apply(self, serial_rows, after: int, done: int,
                           progress: Callable[[int], None], cancel_check: Callable[[], None]) -> int:
        """Apply the serial rows chunk by chunk with set-based statements; return the rows done.

        A chunk with a unit sold meanwhile or a level that would go below zero is applied
        row by row instead, which reports the one and leaves out the other.
        """
        chunks = SerialChunks(self.job)
        while found := chunks.chunk_copy_after(after, SERIAL_SQL_CHUNK):
            size, last = found
            try:
                _with_level_insert_retry(
                    lambda insert_missing: self._serial_sql_chunk_write(
                        chunks, last, size, insert_missing
                    )
                )
            except ChunkNeedsRows:
                rows = [
                    StagedSerial(*values)
                    for values in serial_rows.filter(row_number__gt=after, row_number__lte=last)
                    .order_by("row_number").values_list(*StagedSerial._fields)
                ]
                self._serial_chunk_apply(rows)
            after = last
            done += size
            progress(done)
            cancel_check()
        chunks.close()
        return done

    def _serial_sql_chunk_write(self, chunks: SerialChunks, last: int, size: int,
                                insert_missing: bool) -> None:
        with transaction.atomic():
            chunks.chunk_apply(
                insert_missing=insert_missing, actor_id=self.job.created_by_id, now=db_now()
            )
            self.checkpoint_save({"units_imported": size}, serial_after=last)

    def _serial_chunk_apply(self, rows: list["StagedSerial"]) -> None:
        conflicts = _with_level_insert_retry(
            lambda insert_missing: self._serial_chunk_write(rows, insert_missing)
        )
        self.job.rows_ok -= conflicts
        self.job.rows_bad += conflicts

    def _serial_chunk_write(self, rows: list["StagedSerial"], insert_missing: bool) -> int:
        """Apply the chunk's serial rows in one transaction, with its checkpoint and counts.

        Returns the number of rows skipped because their unit was sold meanwhile. The
        counts include the changes dropped to keep a level from going below zero.
        """
        now = db_now()
        with transaction.atomic():
            existing = units_lock(row.serial for row in rows)
            changes, conflicts = self._serial_changes(rows, existing)
            levels = levels_lock(
                {(store_id, product_id) for _, store_id, product_id, _ in changes},
                insert_missing=insert_missing,
            )
            unit_ids = self._units_save(rows, existing, conflicts, now)
            movements, changed, clamped = self._serial_movements(changes, levels, unit_ids, now)
            levels_save(_levels_to_save(levels, changed))
            movements_insert(movements)
            if conflicts:
                ImportRowError.objects.bulk_create(conflicts, ignore_conflicts=True)
                ImportJob.objects.filter(pk=self.job.pk).update(
                    rows_ok=self.job.rows_ok - len(conflicts),
                    rows_bad=self.job.rows_bad + len(conflicts),
                )
            counts = {"units_imported": len(rows) - len(conflicts)}
            if clamped:
                counts["levels_clamped"] = clamped
            self.checkpoint_save(counts, serial_after=rows[-1].row_number)
        return len(conflicts)

    def _serial_changes(self, rows, existing):
        """Return the on-hand changes (row, store, product, ±1) and rows sold meanwhile."""
        changes = []
        conflicts = []
        for row in rows:
            unit = existing.get(row.serial)
            if unit is not None and unit.status == SerialStatus.SOLD:
                conflicts.append(ImportRowError(
                    job_id=self.job.pk, row_number=row.row_number, column="serial",
                    value=row.serial, code="serial_sold",
                    message=f"Serial {row.serial} was sold while the import ran, so its row was skipped.",
                ))
                continue
            was_on_hand = unit is not None and unit.status in ON_HAND
            now_on_hand = row.status in ON_HAND
            old_pair = (unit.store_id, unit.product_id) if unit is not None else None
            new_pair = (row.store_id, row.product_id)
            if was_on_hand and (not now_on_hand or old_pair != new_pair):
                changes.append((row, *old_pair, -1))
            if now_on_hand and (not was_on_hand or old_pair != new_pair):
                changes.append((row, *new_pair, 1))
        return changes, conflicts

    def _serial_movements(self, changes, levels, unit_ids: dict[str, int], now: str):
        """Apply the changes to the locked levels, with a ledger row that names each change's unit.

        Returns the ledger rows, the changed levels and the number of changes dropped
        because the level already disagreed with its units and would go below zero.
        """
        movements = []
        changed = set()
        clamped = 0
        for row, store_id, product_id, quantity in changes:
            level = levels[(store_id, product_id)]
            if level.on_hand + quantity < 0:
                clamped += 1
                continue
            movements.append(
                self._movement(level, quantity, row.row_number, now, unit_ids[row.serial])
            )
            level.on_hand += quantity
            changed.add((store_id, product_id))
        return movements, changed, clamped

    def _units_save(self, rows, existing, conflicts, now: str) -> dict[str, int]:
        """Create and update the rows' units and return the unit id of each serial applied."""
        skipped = {error.row_number for error in conflicts}
        new_units: dict[str, tuple] = {}
        changed: dict[str, LockedUnit] = {}
        for row in rows:
            if row.row_number in skipped:
                continue
            unit = existing.get(row.serial)
            if unit is None:
                # Validation stages a serial once per job; were it staged twice, the last
                # row would win here, as it does for an existing unit.
                new_units[row.serial] = (
                    row.serial, row.product_id, row.store_id, row.status, row.unit_cost,
                    row.received_at, now,
                )
                continue
            before = (unit.store_id, unit.product_id, unit.status, unit.cost, unit.received_at)
            unit.store_id = row.store_id
            unit.product_id = row.product_id
            unit.status = row.status
            if row.unit_cost is not None:
                unit.cost = row.unit_cost
            if row.received_at is not None:
                unit.received_at = row.received_at
            # A unit the count confirms unchanged keeps its row and its updated_at.
            if (unit.store_id, unit.product_id, unit.status, unit.cost, unit.received_at) != before:
                changed[row.serial] = unit
        units_insert(list(new_units.values()))
        units_update(list(changed.values()))
        unit_ids = {serial: unit.id for serial, unit in existing.items()}
        if new_units:
            unit_ids.update(
                SerialUnit.objects.filter(serial__in=list(new_units)).values_list("serial", "id")
            )
        return unit_ids


class FinalizeStopped(Exception):
    """The serial rows' thread stopped because the plain pairs' thread ended with an error."""


class StagedSerial(NamedTuple):
    """A staged serial row, as finalize reads it."""

    row_number: int
    store_id: int
    product_id: int
    serial: str
    status: str
    unit_cost: Decimal | None
    received_at: datetime.date | None


# The keys of a parsed row, in the order of StockHandler._parsers(); store and sku are required.
PARSED_VALUES = ("store", "sku", "serial", "quantity", "status", "unit_cost", "received_at")
REQUIRED_VALUES = 2


def _rows_with_problems(
    rows: list[RawRow], columns: list[list[object]], *, store_required: bool
) -> set[int]:
    """Return the positions of rows that a reader or a parser found a problem in.

    Rows missing a required value count too; the store is not required when the job has
    a default store.
    """
    positions = {position for position, raw in enumerate(rows) if raw.error is not None}
    for index, outcomes in enumerate(columns):
        empty_is_problem = index < REQUIRED_VALUES and (index > 0 or store_required)
        positions.update([
            position for position, outcome in enumerate(outcomes)
            if (outcome is EMPTY and empty_is_problem) or isinstance(outcome, ValueProblem)
        ])
    return positions


def _serial_listed_as(value: object) -> str | None:
    """Return the serial a cell parses to, for finding serials listed twice; None for none.

    Text of only letters and digits parses to itself, or fails on every row that
    contains it, so it is recorded without parsing. Other cells go through serial_parse().
    """
    if type(value) is str:
        value = value.strip()
        if not value:
            return None
        if value.isascii() and value.isalnum():
            return value
    elif value is None:
        return None
    try:
        return serial_parse(value)
    except ValueProblem:
        return None


def _values_if_valid(outcomes: list[object]) -> dict | None:
    """Return a row's parsed values from column_parse() outcomes, or None if any has a problem."""
    return values_from_outcomes(PARSED_VALUES, outcomes, required=PARSED_VALUES[:REQUIRED_VALUES])


def _with_level_insert_retry(write: Callable[[bool], T]) -> T:
    """Run a chunk's write transaction, inserting its missing levels along with the changes.

    When another transaction created one of those levels (or a serial unit) meanwhile,
    the insert fails and rolls the chunk back, and the chunk runs again with missing
    levels inserted and locked before anything else, as stock_levels_lock() does.
    """
    try:
        return write(False)
    except IntegrityError:
        logger.info("import.chunk_retried reason=concurrent_insert")
        return write(True)


def _raise_if_failed(future: Future) -> None:
    """Raise the error a finished thread ended with; do nothing while it runs."""
    if future.done():
        future.result()


def _levels_to_save(
    levels: dict[tuple[int, int], LockedLevel], changed: set[tuple[int, int]]
) -> list[LockedLevel]:
    """Return the changed levels and the unsaved ones, which are inserted even when unchanged."""
    return [level for pair, level in levels.items() if level.id is None or pair in changed]
