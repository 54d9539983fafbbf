"""Price list imports: upsert by list name, store, valid-from date and SKU.

Rows that share a list name, store and valid-from date form one price list. Its entries
are upserted by SKU, and a later row of the same SKU wins over an earlier one.
"""

import datetime
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from imports.errors import ImportJobFailed
from imports.models import ImportKind, StagedPrice
from imports.pipeline.kinds.base import ChunkResult, KindHandler, RowErrors
from imports.pipeline.kinds.lookups import StoreDirectory, products_by_sku
from imports.pipeline.progress import ProgressReporter
from imports.problems import ImportErrorCode
from imports.readers import RawRow
from imports.values import currency_parse, date_parse, sku_parse, text_parse
from inventory.models import PriceList, PriceListEntry

FINALIZE_CHUNK = 2_000


class PriceListHandler(KindHandler):
    kind = ImportKind.PRICELIST
    staged_model = StagedPrice
    number_fields = ("price", "discount")
    date_fields = ("valid_from", "valid_to")

    @property
    def default_valid_from(self) -> datetime.date:
        """Return the valid-from date of rows without one: the day the file was first imported."""
        chosen = self.job.options.get("default_valid_from")
        if chosen:
            return datetime.date.fromisoformat(chosen)
        return timezone.localdate(self.job.created_at)

    def columns_check(self) -> None:
        if not self.job.options.get("price_list") and not self.has_column("price_list"):
            raise ImportJobFailed(
                "The file does not name its price list. Add a price_list column, or give the "
                "list's name in the price_list option of the import.",
                code=ImportErrorCode.COLUMN_MISSING,
            )

    def validate_chunk(self, rows: list[RawRow]) -> ChunkResult:
        stores = StoreDirectory(self.job.created_by)
        result = ChunkResult()
        parsed = []
        for raw in rows:
            errors = self.read_error(raw) or RowErrors(self, raw)
            parsed.append((raw, errors, None if errors else self._row_parse(raw, errors)))
        products = products_by_sku({v["sku"] for _, _, v in parsed if v and v["sku"]})
        for raw, errors, values in parsed:
            if values is not None and not errors:
                self._row_resolve(errors, values, products, stores)
            if errors:
                result.errors += errors.items
                result.rows_bad += 1
                continue
            result.rows_ok += 1
            if values["store_id"]:
                result.store_ids.add(values["store_id"])
            result.staged.append((
                self.job.pk, raw.number, values["list"], values["store_id"], values["product_id"],
                values["price"], values["discount"], values["currency"], values["valid_from"],
                values["valid_to"], values["source"],
            ))
        return result

    def _row_parse(self, raw: RawRow, errors: RowErrors) -> dict:
        def day(value):
            return date_parse(value, self.order, date1904=self.table.date1904)

        options = self.job.options
        values = {
            "sku": self.parse(raw, errors, "sku", sku_parse, required=True),
            "price": self.parse(raw, errors, "price", self.money, required=True),
            "currency": self.parse(raw, errors, "currency", currency_parse, default=settings.PORTAL_CURRENCY),
            "valid_from": self.parse(raw, errors, "valid_from", day, default=self.default_valid_from),
            "valid_to": self.parse(raw, errors, "valid_to", day),
            "discount": self.parse(raw, errors, "discount", self.percent, default=Decimal("0")),
            "list": self.parse(raw, errors, "price_list", lambda v: text_parse(v, max_length=120),
                               default=options.get("price_list") or ""),
            "store": self.parse(raw, errors, "store", str),
        }
        values["source"] = self.parse(raw, errors, "source", lambda v: text_parse(v, max_length=120),
                                      default=options.get("source") or values["list"])
        if values["price"] is not None and values["price"] < 0:
            errors.add("price", values["price"], ImportErrorCode.NUMBER_INVALID,
                       f"Price {values['price']} is negative. Enter zero or more.")
        if not values["list"]:
            errors.add("price_list", "", ImportErrorCode.VALUE_MISSING,
                       f"Row {raw.number} names no price list. Fill in price_list.")
        if values["valid_to"] and values["valid_from"] and values["valid_to"] < values["valid_from"]:
            errors.add("valid_to", values["valid_to"], ImportErrorCode.DATE_INVALID,
                       f"valid_to {values['valid_to']} is before valid_from {values['valid_from']}. "
                       "Swap or fix the dates.")
        return values

    def _row_resolve(self, errors, values, products, stores) -> None:
        product = products.get(values["sku"])
        if product is None:
            errors.add("sku", values["sku"], "sku_unknown",
                       f"SKU {values['sku']} is not known. Import it as a product first.")
        else:
            values["product_id"] = product.id
        values["store_id"] = None
        if values["store"]:
            store = stores.find(values["store"])
            if store is None:
                errors.add("store", values["store"], "store_unknown",
                           f"Store {values['store']} is not known. Fix the code or leave it empty "
                           "for a list of every store.")
            else:
                values["store_id"] = store.pk

    def finalize_total(self) -> int:
        return StagedPrice.objects.filter(job=self.job).count()

    def finalize(self, *, reporter: ProgressReporter, cancel_check: Callable[[], None]) -> None:
        after = int((self.job.checkpoint or {}).get("row_after") or 0)
        done = StagedPrice.objects.filter(job=self.job, row_number__lte=after).count()
        while rows := list(
            StagedPrice.objects.filter(job=self.job, row_number__gt=after)
            .order_by("row_number")[:FINALIZE_CHUNK]
        ):
            self._chunk_apply(rows)
            after = rows[-1].row_number
            done += len(rows)
            reporter.advance(done)
            cancel_check()
        reporter.advance(done, force=True)

    def _chunk_apply(self, rows: list[StagedPrice]) -> None:
        priority = self.job.options.get("priority")
        counts: Counter[str] = Counter()
        with transaction.atomic():
            lists: dict[tuple, PriceList] = {}
            for row in rows:
                key = (row.price_list_name, row.store_id, row.valid_from)
                if key not in lists:
                    lists[key] = self._price_list_upsert(row, priority, counts)
            latest: dict[tuple[int, int], StagedPrice] = {}
            for row in rows:
                price_list = lists[(row.price_list_name, row.store_id, row.valid_from)]
                latest[(price_list.pk, row.product_id)] = row
            existing = {
                (entry.price_list_id, entry.product_id): entry
                for entry in PriceListEntry.objects.select_for_update().filter(
                    price_list__in=[price_list.pk for price_list in lists.values()],
                    product_id__in={row.product_id for row in rows},
                )
            }
            created, updated = [], []
            for (list_id, product_id), row in latest.items():
                entry = existing.get((list_id, product_id))
                if entry is None:
                    created.append(PriceListEntry(
                        price_list_id=list_id, product_id=product_id, price=row.price,
                        discount_percent=row.discount_percent, source=row.source,
                    ))
                elif (entry.price, entry.discount_percent, entry.source) != (
                    row.price, row.discount_percent, row.source
                ):
                    entry.price, entry.discount_percent = row.price, row.discount_percent
                    entry.source = row.source
                    updated.append(entry)
            PriceListEntry.objects.bulk_create(created)
            if updated:
                PriceListEntry.objects.bulk_update(updated, ["price", "discount_percent", "source"])
            counts.update(entries_created=len(created), entries_updated=len(updated))
            self.checkpoint_save(counts, row_after=rows[-1].row_number)

    def _price_list_upsert(self, row: StagedPrice, priority: int | None,
                           counts: Counter[str]) -> PriceList:
        """Get or create the row's list; an explicit priority option also updates it."""
        price_list, created = PriceList.objects.select_for_update().get_or_create(
            name=row.price_list_name, store_id=row.store_id, valid_from=row.valid_from,
            defaults={"valid_to": row.valid_to, "currency": row.currency, "source": row.source,
                      "priority": priority or 0},
        )
        wanted = {"valid_to": row.valid_to, "currency": row.currency}
        if priority is not None:
            wanted["priority"] = priority
        changed = [name for name, value in wanted.items() if getattr(price_list, name) != value]
        if not created and changed:
            for name in changed:
                setattr(price_list, name, wanted[name])
            price_list.save(update_fields=changed)
        if created:
            counts["price_lists_created"] += 1
        return price_list
