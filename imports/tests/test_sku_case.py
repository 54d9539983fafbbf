"""SKUs match in any letter case, in every import kind and on every database."""

from decimal import Decimal

import pytest

from imports.models import ImportStatus
from imports.tests.helpers import error_rows, import_run
from inventory.models import Product, SaleLine, StockLevel
from inventory.tests.factories import ProductFactory, StoreFactory, back_office_user

pytestmark = pytest.mark.django_db


def test_products_in_two_cases_become_one(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name\n"
        "85114C,Red retrospot cake stand\n"
        "85114c,Red retrospot cake stand small\n"
        "85114C,Red retrospot cake stand\n"
    )

    job = import_run(path, kind="products", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert list(Product.objects.values_list("sku", "name")) == [("85114C", "Red retrospot cake stand")]
    assert job.summary["products_created"] == 1
    assert job.summary["rows_repeating_sku"] == 2
    assert job.summary["rows_sku_other_case"] == 1


def test_products_update_stored_sku_in_other_case(tmp_path):
    ProductFactory(sku="ACC-1", name="Cable")
    path = tmp_path / "products.csv"
    path.write_text("sku,name\nacc-1,USB-C cable\n")

    job = import_run(path, kind="products", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert list(Product.objects.values_list("sku", "name")) == [("ACC-1", "USB-C cable")]
    assert job.summary["products_updated"] == 1
    assert job.summary.get("products_created", 0) == 0
    assert job.summary["rows_sku_other_case"] == 1


def test_sales_and_stock_find_sku_in_other_case(tmp_path):
    StoreFactory(code="S001")
    product = ProductFactory(sku="85114C")
    sales = tmp_path / "sales.csv"
    sales.write_text(
        "receipt,sold_at,store,sku,qty,unit_price\n"
        "R-1,2026-03-02 10:00,S001,85114c,2,5.00\n"
    )
    count = tmp_path / "count.csv"
    count.write_text("store,sku,qty\nS001,85114c,7\n")
    user = back_office_user()

    sales_job = import_run(sales, kind="sales", user=user)
    count_job = import_run(count, kind="stock", user=user)

    assert error_rows(sales_job) == {}
    assert SaleLine.objects.get().product == product
    assert SaleLine.objects.get().line_total == Decimal("10.00")
    assert error_rows(count_job) == {}
    assert StockLevel.objects.get(product=product).on_hand == 7
