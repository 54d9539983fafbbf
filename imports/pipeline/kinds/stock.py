"""Stock count imports: on-hand per store and SKU, and serial units by serial.

Plain rows set the on-hand of their store and SKU to the sum of that pair's rows, since a
count is often listed by bin or lot. Serial rows create or update their unit (store,
product, status, cost, received date), and each unit that enters or leaves a store's
on-hand changes that store's level by one. Every change writes a ledger row keyed by the
job and the row that caused it.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import Count, Min, Sum
from django.utils import timezone

from imports.models import ImportJob, ImportKind, ImportRowError, StagedStock
from imports.pipeline.kinds.base import ChunkResult, KindHandler, RowErrors
from imports.pipeline.kinds.lookups import (
    StoreDirectory,
    products_by_sku,
    sold_unit_sales,
    units_by_serial,
)
from imports.pipeline.progress import ProgressReporter
from imports.problems import ImportErrorCode
from imports.readers import RawRow
from imports.values import date_parse, quantity_parse, serial_parse, sku_parse, status_parse
from inventory.models import (
    ON_HAND_STATUSES,
    MovementKind,
    SerialStatus,
    SerialUnit,
    StockBucket,
    StockMovement,
)
from inventory.services.stock import stock_change, stock_levels_lock, stock_levels_save

logger = logging.getLogger(__name__)

FINALIZE_CHUNK = 2_000
ON_HAND = {str(status) for status in ON_HAND_STATUSES}


class StockHandler(KindHandler):
    kind = ImportKind.STOCK
    staged_model = StagedStock
    number_fields = ("unit_cost",)
    date_fields = ("received_at",)

    def __init__(self, job: ImportJob) -> None:
        super().__init__(job)
        self.stores: StoreDirectory | None = None
        # NOTE: the serials seen so far are kept in memory to reject a serial listed twice,
        # about 100 bytes per serial row.
        self.seen_serials: dict[str, int] = {}

    def validate_chunk(self, rows: list[RawRow]) -> ChunkResult:
        if self.stores is None:
            self.stores = StoreDirectory(self.job.created_by)
        result = ChunkResult()
        parsed = []
        for raw in rows:
            errors = self.read_error(raw) or RowErrors(self, raw)
            values = self._row_parse(raw, errors) if not errors else None
            parsed.append((raw, errors, values))

        products = products_by_sku({v["sku"] for _, e, v in parsed if v and v["sku"]})
        units = units_by_serial({v["serial"] for _, e, v in parsed if v and v["serial"]})
        sold = sold_unit_sales([u.id for u in units.values() if u.status == SerialStatus.SOLD])

        for raw, errors, values in parsed:
            if values is not None and not errors:
                self._row_resolve(raw, errors, values, products, units, sold)
            if errors:
                result.errors += errors.items
                result.rows_bad += 1
                continue
            result.rows_ok += 1
            result.store_ids.add(values["store_id"])
            result.staged.append((
                self.job.pk, raw.number, values["store_id"], values["product_id"],
                values["serial"] or "", values["quantity"], values["status"] or "",
                values["unit_cost"], values["received_at"],
            ))
        return result

    def _row_parse(self, raw: RawRow, errors: RowErrors) -> dict:
        return {
            "store": self.parse(raw, errors, "store", str, required=True),
            "sku": self.parse(raw, errors, "sku", sku_parse, required=True),
            "serial": self.parse(raw, errors, "serial", serial_parse),
            "quantity": self.parse(raw, errors, "qty", lambda value: quantity_parse(value, self.style)),
            "status": self.parse(raw, errors, "status", status_parse),
            "unit_cost": self.parse(raw, errors, "unit_cost", self.money),
            "received_at": self.parse(
                raw, errors, "received_at",
                lambda value: date_parse(value, self.order, date1904=self.table.date1904),
            ),
        }

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
        else:
            self.seen_serials[serial] = raw.number
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
        pairs = (
            self._staged().filter(serial="").values("store_id", "product_id").distinct().count()
        )
        return pairs + self._staged().exclude(serial="").count()

    def finalize(self, *, reporter: ProgressReporter, cancel_check: Callable[[], None]) -> None:
        done = self._finalize_plain(reporter, cancel_check)
        self._finalize_serials(reporter, cancel_check, done)

    def _checkpoint(self) -> dict:
        return dict(self.job.checkpoint or {})

    def _checkpoint_save(self, **values) -> None:
        checkpoint = {**self._checkpoint(), **values}
        self.job.checkpoint = checkpoint
        ImportJob.objects.filter(pk=self.job.pk).update(checkpoint=checkpoint)

    def _finalize_plain(self, reporter, cancel_check) -> int:
        groups = (
            self._staged().filter(serial="")
            .values("store_id", "product_id")
            .annotate(total=Sum("quantity"), first_row=Min("row_number"), lines=Count("id"))
            .order_by("store_id", "product_id")
        )
        combined = 0
        done = 0
        after = tuple(self._checkpoint().get("plain_after") or (0, 0))
        chunk: list[dict] = []
        for group in groups.iterator(chunk_size=FINALIZE_CHUNK):
            combined += group["lines"] - 1
            done += 1
            if (group["store_id"], group["product_id"]) <= after:
                continue
            chunk.append(group)
            if len(chunk) >= FINALIZE_CHUNK:
                self._plain_chunk_apply(chunk)
                chunk = []
                reporter.advance(done)
                cancel_check()
        if chunk:
            self._plain_chunk_apply(chunk)
        reporter.advance(done, force=True)
        self.counters["lines_combined"] = combined
        return done

    def _plain_chunk_apply(self, chunk: list[dict]) -> None:
        pairs = [(group["store_id"], group["product_id"]) for group in chunk]
        with transaction.atomic():
            levels = stock_levels_lock(pairs=pairs)
            movements = []
            for group in chunk:
                level = levels[(group["store_id"], group["product_id"])]
                delta = group["total"] - level.on_hand
                if delta:
                    movements.append(stock_change(
                        level=level, bucket=StockBucket.ON_HAND, quantity=delta,
                        kind=MovementKind.IMPORT_ADJUSTMENT, actor_id=self.job.created_by_id,
                        import_job_id=self.job.pk, import_row=group["first_row"],
                    ))
            stock_levels_save(movements=movements)
            last = chunk[-1]
            self._checkpoint_save(plain_after=[last["store_id"], last["product_id"]])
        self.count("levels_changed", len(movements))

    def _finalize_serials(self, reporter, cancel_check, done: int) -> None:
        after = int(self._checkpoint().get("serial_after") or 0)
        done += self._staged().exclude(serial="").filter(row_number__lte=after).count()
        while True:
            rows = list(
                self._staged().exclude(serial="").filter(row_number__gt=after)
                .order_by("row_number")[:FINALIZE_CHUNK]
            )
            if not rows:
                break
            self._serial_chunk_apply(rows)
            after = rows[-1].row_number
            done += len(rows)
            reporter.advance(done)
            cancel_check()
        reporter.advance(done, force=True)

    def _serial_chunk_apply(self, rows: list[StagedStock]) -> None:
        with transaction.atomic():
            existing = {
                unit.serial: unit
                for unit in SerialUnit.objects.select_for_update()
                .filter(serial__in=[row.serial for row in rows]).order_by("pk")
            }
            changes, conflicts = self._serial_changes(rows, existing)
            pairs = {(store_id, product_id) for _, store_id, product_id, _ in changes}
            levels = stock_levels_lock(pairs=pairs)
            movements = self._serial_movements(changes, levels)
            self._units_save(rows, existing, conflicts)
            stock_levels_save(movements=movements)
            if conflicts:
                ImportRowError.objects.bulk_create(conflicts, ignore_conflicts=True)
                ImportJob.objects.filter(pk=self.job.pk).update(
                    rows_ok=self.job.rows_ok - len(conflicts),
                    rows_bad=self.job.rows_bad + len(conflicts),
                )
                self.job.rows_ok -= len(conflicts)
                self.job.rows_bad += len(conflicts)
            self._checkpoint_save(serial_after=rows[-1].row_number)
        self.count("units_imported", len(rows) - len(conflicts))

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

    def _serial_movements(self, changes, levels) -> list[StockMovement]:
        movements = []
        for row, store_id, product_id, quantity in changes:
            level = levels[(store_id, product_id)]
            if level.on_hand + quantity < 0:
                # The level already disagreed with its units; keep it at zero.
                self.count("levels_clamped")
                continue
            movements.append(stock_change(
                level=level, bucket=StockBucket.ON_HAND, quantity=quantity,
                kind=MovementKind.IMPORT_ADJUSTMENT, actor_id=self.job.created_by_id,
                import_job_id=self.job.pk, import_row=row.row_number,
            ))
        return movements

    def _units_save(self, rows, existing, conflicts) -> None:
        skipped = {error.row_number for error in conflicts}
        now = timezone.now()
        new_units = []
        changed = []
        for row in rows:
            if row.row_number in skipped:
                continue
            unit = existing.get(row.serial)
            if unit is None:
                unit = SerialUnit(serial=row.serial)
                new_units.append(unit)
                existing[row.serial] = unit
            else:
                changed.append(unit)
            unit.store_id = row.store_id
            unit.product_id = row.product_id
            unit.status = row.status
            unit.updated_at = now
            if row.unit_cost is not None:
                unit.cost = row.unit_cost
            if row.received_at is not None:
                unit.received_at = row.received_at
        SerialUnit.objects.bulk_create(new_units)
        if changed:
            SerialUnit.objects.bulk_update(
                changed, ["store_id", "product_id", "status", "cost", "received_at", "updated_at"]
            )
