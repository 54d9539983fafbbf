"""Each file made after a public bug report of another importer, with its expected outcome."""

import datetime
from decimal import Decimal

import pytest

from imports.models import ImportStatus
from imports.tests.helpers import CASES_DIR, catalog_for, error_rows, import_run
from inventory.models import (
    MovementKind,
    PriceListEntry,
    Product,
    SerialStatus,
    SerialUnit,
    StockLevel,
    StockMovement,
)
from inventory.tests.factories import back_office_user

pytestmark = pytest.mark.django_db


def _case(name: str):
    path = CASES_DIR / name
    catalog_for(path)
    return path


def test_bom_glued_to_first_header():
    path = _case("01-bom-first-header.csv")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (6, 6, 0)
    assert SerialUnit.objects.get(serial="353065450336017").status == SerialStatus.RESERVED
    assert StockLevel.objects.get(store__code="S014", product__sku="CHG-USBC-25W").on_hand == 12
    assert StockLevel.objects.get(store__code="S021", product__sku="EAR-BT-PRO2").on_hand == 3
    assert StockLevel.objects.get(store__code="S014", product__sku="PHN-A15-128-BLK").on_hand == 1
    movement = StockMovement.objects.get(store__code="S021", product__sku="CBL-USBC-1M")
    assert (movement.kind, movement.before, movement.after) == (MovementKind.IMPORT_ADJUSTMENT, 0, 40)
    assert (movement.import_job_id, movement.import_row) == (job.pk, 6)


def test_semicolon_file_with_decimal_comma():
    path = _case("02-semicolon-decimal-comma.csv")

    job = import_run(path, kind="pricelist", user=back_office_user(), price_list="Distributor June")

    assert job.status == ImportStatus.DONE
    assert job.rows_ok == 6
    entries = {
        entry.product.sku: entry
        for entry in PriceListEntry.objects.select_related("product", "price_list")
    }
    prices = [entries[sku].price for sku in (
        "PHN-A15-128-BLK", "PHN-A55-256-BLK", "TAB-S9-128-GRY", "CHG-USBC-25W", "CBL-USBC-1M",
        "EAR-BT-PRO2",
    )]
    assert prices == [Decimal(v) for v in ("199.00", "1299.00", "849.90", "19.99", "4.50", "1049.00")]
    discounts = [entries[sku].discount_percent for sku in (
        "PHN-A15-128-BLK", "PHN-A55-256-BLK", "TAB-S9-128-GRY", "CHG-USBC-25W", "CBL-USBC-1M",
        "EAR-BT-PRO2",
    )]
    assert discounts == [Decimal(v) for v in ("0", "12.5", "7.5", "0", "0", "20")]
    assert entries["PHN-A15-128-BLK"].price_list.valid_from == datetime.date(2024, 6, 1)
    assert entries["EAR-BT-PRO2"].price_list.valid_from == datetime.date(2024, 6, 15)
    assert entries["CHG-USBC-25W"].source == "Hausmarke; Aktion"
    assert entries["PHN-A15-128-BLK"].source == "Distributor Nord"


def test_imei_in_scientific_notation_rejected():
    path = _case("05-imei-scientific-notation.csv")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert (job.rows_ok, job.rows_bad) == (5, 2)
    assert error_rows(job) == {3: ["serial_scientific"], 5: ["serial_scientific"]}
    message = job.row_errors.get(row_number=3).message
    assert "scientific notation" in message
    assert "text" in message
    assert SerialUnit.objects.filter(serial="353279318891036").exists()
    assert SerialUnit.objects.count() == 5


def test_imei_in_numeric_xlsx_cells():
    path = _case("06-imei-numeric-cells.xlsx")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert set(SerialUnit.objects.values_list("serial", flat=True)) == {
        "358984206643275", "352550002954962", "357159157407050", "356879366483078",
    }
    assert list(error_rows(job)) == [5]


def test_excel_date_serials():
    path = _case("08-excel-date-serials.xlsx")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert job.rows_ok == 6
    assert job.rows_bad == 0
    assert StockLevel.objects.get(product__sku="CBL-USBC-1M").on_hand == 25


def test_quoted_newlines_and_doubled_quotes():
    path = _case("12-quoted-embedded-newlines.csv")

    job = import_run(path, kind="products", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert (job.rows_total, job.rows_ok) == (4, 4)
    assert Product.objects.filter(name='Earbuds "Pro 2"').exists()
    assert sorted(job.summary["ignored_columns"]) == ["brand", "note"]


def test_phantom_xlsx_range_reads_five_rows():
    path = _case("13-xlsx-phantom-used-range.xlsx")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (5, 5, 0)
    assert sum(job.phase_timings.values()) < 5


def test_duplicate_headers_fail_the_job():
    path = _case("14-duplicate-headers.xlsx")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.FAILED
    assert "qty" in job.failure_reason
    assert " D" in job.failure_reason
    assert " F" in job.failure_reason
    assert StockLevel.objects.count() == 0
    assert StockMovement.objects.count() == 0


def test_header_spaces_and_case():
    path = _case("15-header-spaces-and-case.csv")

    job = import_run(path, kind="pricelist", user=back_office_user(), price_list="Buyer sheet")

    assert job.status == ImportStatus.DONE
    assert job.rows_ok == 4
    assert PriceListEntry.objects.get(product__sku="CHG-USBC-25W").price == Decimal("17.99")


def test_nul_byte_fails_only_its_line():
    path = _case("18-nul-byte.csv")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert error_rows(job) == {4: ["nul_byte"]}
    assert "4" in job.row_errors.get().message
    assert not any("\x00" in cell for cell in job.row_errors.get().cells)
    assert any("\u2400" in cell for cell in job.row_errors.get().cells)
    assert StockLevel.objects.filter(store__code="S090").count() == 3


def test_ragged_rows():
    path = _case("19-ragged-rows.csv")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert sorted(error_rows(job)) == [3, 5]
    assert job.rows_ok == 4
    assert "8 fields" in job.row_errors.get(row_number=3).message


def test_formula_payloads_stay_literal():
    path = _case("20-formula-payloads.csv")

    job = import_run(path, kind="products", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert error_rows(job) == {4: ["sku_invalid"]}
    assert Product.objects.get(sku="CASE-A15-RED").name.startswith("=HYPERLINK(")
    assert Product.objects.get(sku="CASE-A15-BLU").name == "+1+1"
    assert Product.objects.get(sku="CASE-A15-BLK").name == "Case, black (=standard)"


def test_formula_cells_without_saved_value():
    path = _case("21-formula-cells-cached-and-uncached.xlsx")

    job = import_run(path, kind="pricelist", user=back_office_user(), price_list="Buyer August")

    assert job.status == ImportStatus.DONE
    assert sorted(error_rows(job)) == [5, 6]
    error = job.row_errors.filter(row_number=5).first()
    assert error.message.startswith("The cell has the formula =")
    assert "saved" in error.message
    assert error.value.startswith("=")
    assert error.value in error.cells
    assert not any("FormulaWithoutValue" in cell for cell in error.cells)
    prices = dict(PriceListEntry.objects.values_list("product__sku", "price"))
    assert prices == {
        "PHN-A15-128-BLK": Decimal("179.10"),
        "PHN-A35-256-NVY": Decimal("251.10"),
        "CHG-USBC-25W": Decimal("17.99"),
    }


def test_second_import_changes_nothing():
    path = _case("01-bom-first-header.csv")
    user = back_office_user()
    import_run(path, kind="stock", user=user)
    levels = list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True))
    movements = StockMovement.objects.count()

    job = import_run(path, kind="stock", user=user)

    assert job.status == ImportStatus.DONE
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)) == levels
    assert StockMovement.objects.count() == movements
    assert SerialUnit.objects.count() == 2 + 1


def test_large_count_adds_up_lines():
    import csv

    path = _case("23-large-53k-rows.csv")
    expected: dict[tuple[str, str], int] = {}
    plain_rows = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if not record["serial"]:
                key = (record["store_code"], record["sku"])
                expected[key] = expected.get(key, 0) + int(record["qty"])
                plain_rows += 1

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (53_000, 53_000, 0)
    assert SerialUnit.objects.count() == 13_250
    levels = {
        (store, sku): on_hand
        for store, sku, on_hand in StockLevel.objects.filter(product__is_serialized=False)
        .values_list("store__code", "product__sku", "on_hand")
    }
    assert len(expected) == 750
    assert levels == expected
    assert job.summary["lines_combined"] == plain_rows - 750


def test_sales_receipt_imported_again_replaces_lines(tmp_path):
    from inventory.models import Sale, SaleLine, Store
    from inventory.tests.factories import ProductFactory, StoreFactory

    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    first = tmp_path / "day.csv"
    first.write_text(
        "receipt,sold_at,store,sku,qty,unit_price,payment_method\n"
        "R-1,2026-03-02 10:00,S001,ACC-1,2,5.00,cash\n"
        "R-1,2026-03-02 10:00,S001,ACC-2,1,9.50,cash\n"
        "R-1,2026-03-02 10:00,S001,ACC-1,-1,5.00,cash\n"
    )
    second = tmp_path / "day-fixed.csv"
    second.write_text(
        "receipt,sold_at,store,sku,qty,unit_price,payment_method\n"
        "R-1,2026-03-02 10:05,S001,ACC-1,2,5.00,card\n"
        "R-1,2026-03-02 10:05,S001,ACC-2,1,9.50,card\n"
    )
    user = back_office_user()
    import_run(first, kind="sales", user=user)

    job = import_run(second, kind="sales", user=user)

    sale = Sale.objects.get(store=Store.objects.get(code="S001"), receipt_number="R-1")
    assert job.status == ImportStatus.DONE
    assert SaleLine.objects.filter(sale=sale).count() == 2
    assert sale.total == Decimal("19.50")
    assert sale.payment_method == "card"
    assert job.summary["lines_removed"] == 1


def test_stock_file_without_store_uses_default(tmp_path):
    from inventory.tests.factories import ProductFactory, StoreFactory

    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    path = tmp_path / "count.csv"
    path.write_text("sku,qty\nACC-1,4\nACC-1,3\n")

    job = import_run(path, kind="stock", user=back_office_user(), default_store="S001")

    assert job.status == ImportStatus.DONE
    assert job.rows_ok == 2
    assert StockLevel.objects.get(store__code="S001", product__sku="ACC-1").on_hand == 7


def test_sheet_option_on_csv_is_noted(tmp_path):
    from inventory.tests.factories import ProductFactory, StoreFactory

    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    path = tmp_path / "count.csv"
    path.write_text("store,sku,qty\nS001,ACC-1,4\n")

    job = import_run(path, kind="stock", user=back_office_user(), sheet="June")

    assert job.status == ImportStatus.DONE
    assert job.summary["notes"] == [
        "The sheet option 'June' applies to XLSX files only. This CSV file has no sheets and "
        "was read as it is."
    ]
