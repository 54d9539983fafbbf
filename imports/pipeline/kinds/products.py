"""Product imports: upsert by SKU. The last row of a SKU in the file wins over earlier ones."""

from collections import Counter
from collections.abc import Callable

from django.db import transaction
from django.db.models import Max

from imports.models import ImportKind, StagedProduct
from imports.pipeline.kinds.base import ChunkResult, KindHandler, RowErrors
from imports.pipeline.progress import ProgressReporter
from imports.problems import ImportErrorCode
from imports.readers import RawRow
from imports.values import bool_parse, quantity_parse, sku_parse, text_parse
from imports.pipeline.kinds.lookups import products_by_sku
from inventory.models import Product, StockLevel
from inventory.selectors import products_with_skus, sku_key

FINALIZE_CHUNK = 2_000


class ProductsHandler(KindHandler):
    kind = ImportKind.PRODUCTS
    staged_model = StagedProduct

    def __init__(self, job) -> None:
        super().__init__(job)
        # The spelling staged for each SKU, by sku_key(): the product's when it exists,
        # else the file's first. Rows that write a SKU in other letter cases then upsert
        # one product on every database.
        self.sku_spellings: dict[str, str] = {}

    def validate_chunk(self, rows: list[RawRow]) -> ChunkResult:
        result = ChunkResult()
        parsed = []
        for raw in rows:
            errors = self.read_error(raw) or RowErrors(self, raw)
            values = None if errors else self._row_parse(raw, errors)
            if errors:
                result.errors += errors.items
                result.rows_bad += 1
            else:
                parsed.append((raw, values))
        stored = products_by_sku({
            values["sku"] for _, values in parsed if sku_key(values["sku"]) not in self.sku_spellings
        })
        for raw, values in parsed:
            sku = values["sku"]
            spelling = self.sku_spellings.get(sku_key(sku))
            if spelling is None:
                product = stored.get(sku)
                spelling = self.sku_spellings[sku_key(sku)] = product.sku if product else sku
            else:
                self.count("rows_repeating_sku")
            if spelling != sku:
                self.count("rows_sku_other_case")
            result.rows_ok += 1
            result.staged.append((
                self.job.pk, raw.number, spelling, values["name"], values["category"] or "",
                values["serialized"], values["barcode"] or "", values["threshold"],
            ))
        return result

    def _row_parse(self, raw: RawRow, errors: RowErrors) -> dict:
        values = {
            "sku": self.parse(raw, errors, "sku", sku_parse, required=True),
            "name": self.parse(raw, errors, "name", lambda v: text_parse(v, max_length=255), required=True),
            "category": self.parse(raw, errors, "category", lambda v: text_parse(v, max_length=100)),
            "serialized": self.parse(raw, errors, "serialized", bool_parse),
            "barcode": self.parse(raw, errors, "barcode", lambda v: text_parse(v, max_length=64)),
            "threshold": self.parse(raw, errors, "low_stock_threshold", quantity_parse),
        }
        if values["threshold"] is not None and values["threshold"] < 0:
            errors.add("low_stock_threshold", values["threshold"], ImportErrorCode.QUANTITY_INVALID,
                       f"Low-stock threshold {values['threshold']} is negative. Enter zero or more.")
        return values

    def _skus_last_rows(self, *, after: str | None) -> list[tuple[str, int]]:
        """Return up to FINALIZE_CHUNK SKUs after ``after`` in order, each with its last row.

        The groups come from the (job, sku, row_number) index in its order, so a chunk reads
        only its own SKUs' entries. Asking each row whether a later row has its SKU instead
        took most of finalizing a 200,000-row file with 4,000 SKUs.
        """
        staged = StagedProduct.objects.filter(job=self.job)
        if after is not None:
            staged = staged.filter(sku__gt=after)
        return list(
            staged.values("sku").annotate(last_row=Max("row_number")).order_by("sku")
            .values_list("sku", "last_row")[:FINALIZE_CHUNK]
        )

    def finalize_total(self) -> int:
        return StagedProduct.objects.filter(job=self.job).values("sku").distinct().count()

    def finalize(self, *, reporter: ProgressReporter, cancel_check: Callable[[], None]) -> None:
        after = (self.job.checkpoint or {}).get("sku_after")
        done = 0
        if after is not None:
            done = (
                StagedProduct.objects.filter(job=self.job, sku__lte=after)
                .values("sku").distinct().count()
            )
        while last_rows := self._skus_last_rows(after=after):
            rows = list(StagedProduct.objects.filter(
                job=self.job, row_number__in=[row_number for _sku, row_number in last_rows]
            ))
            after = last_rows[-1][0]
            self._chunk_apply(rows, sku_after=after)
            done += len(last_rows)
            reporter.advance(done)
            cancel_check()
        reporter.advance(done, force=True)

    def _chunk_apply(self, rows: list[StagedProduct], *, sku_after: str) -> None:
        latest = {row.sku: row for row in rows}
        with transaction.atomic():
            # Matched in any letter case: a product created in another case since
            # validation is updated, not created twice.
            existing = {
                sku_key(product.sku): product
                for product in products_with_skus(latest, Product.objects.select_for_update())
            }
            stocked = set(
                StockLevel.objects.filter(product__in=existing.values(), on_hand__gt=0)
                .values_list("product__sku", flat=True)
            )
            created, updated = [], []
            counts: Counter[str] = Counter()
            for sku, row in latest.items():
                product = existing.get(sku_key(sku))
                if product is None:
                    created.append(Product(
                        sku=sku, name=row.name, category=row.category,
                        is_serialized=bool(row.is_serialized), barcode=row.barcode,
                        low_stock_threshold=row.low_stock_threshold or 0,
                    ))
                    continue
                if self._product_update(product, row, stocked, counts):
                    updated.append(product)
            Product.objects.bulk_create(created)
            if updated:
                Product.objects.bulk_update(
                    updated, ["name", "category", "is_serialized", "barcode", "low_stock_threshold"]
                )
            counts.update(products_created=len(created), products_updated=len(updated))
            self.checkpoint_save(counts, sku_after=sku_after)

    def _product_update(self, product: Product, row: StagedProduct, stocked: set[str],
                        counts: Counter[str]) -> bool:
        before = (product.name, product.category, product.is_serialized, product.barcode,
                  product.low_stock_threshold)
        product.name = row.name
        if row.category:
            product.category = row.category
        if row.barcode:
            product.barcode = row.barcode
        if row.low_stock_threshold is not None:
            product.low_stock_threshold = row.low_stock_threshold
        if row.is_serialized is not None and row.is_serialized != product.is_serialized:
            if product.sku in stocked:
                # Stock counted one way cannot be reinterpreted; the flag keeps its value.
                counts["serialized_flag_kept"] += 1
            else:
                product.is_serialized = row.is_serialized
        after = (product.name, product.category, product.is_serialized, product.barcode,
                 product.low_stock_threshold)
        return before != after
