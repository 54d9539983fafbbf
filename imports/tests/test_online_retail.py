"""A real retailer's 200,000 transactions, imported as products and as sales history.

The file stays outside the repository; OPS_SHARED_DATA_DIR points at it.
"""

from pathlib import Path

import pytest
from django.conf import settings

from imports.models import ImportStatus
from imports.tests.helpers import import_run
from inventory.models import Product, Sale, SaleLine
from inventory.tests.factories import StoreFactory, operations_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def retail_file() -> Path:
    path = Path(settings.SHARED_DATA_DIR) / "online-retail" / "online-retail-head200k.csv"
    if not path.is_file():
        pytest.skip(f"The online-retail sample is missing at {path}; set OPS_SHARED_DATA_DIR.")
    return path


def test_online_retail_as_products_twice(retail_file):
    user = operations_user()

    first = import_run(retail_file, kind="products", user=user)
    products = dict(Product.objects.values_list("sku", "name"))
    second = import_run(retail_file, kind="products", user=user)

    assert first.status == ImportStatus.DONE
    assert first.rows_total == 200_000
    assert first.rows_ok + first.rows_bad == first.rows_total
    assert first.rows_bad == first.row_errors.values("row_number").distinct().count()
    assert Product.objects.filter(sku="85123A").exists()
    assert "Description" in first.summary["columns"].values()
    assert second.status == ImportStatus.DONE
    assert dict(Product.objects.values_list("sku", "name")) == products
    assert second.summary["products_created"] == 0
    assert second.summary["products_updated"] == 0


def test_online_retail_as_sales_twice(retail_file):
    user = operations_user()
    StoreFactory(code="WEB")
    import_run(retail_file, kind="products", user=user)

    first = import_run(retail_file, kind="sales", user=user, default_store="WEB")
    counts = (Sale.objects.count(), SaleLine.objects.count())
    totals = sorted(Sale.objects.values_list("receipt_number", "total"))[:50]
    second = import_run(retail_file, kind="sales", user=user, default_store="WEB")

    assert first.status == ImportStatus.DONE
    assert first.rows_ok + first.rows_bad == 200_000
    assert first.rows_ok > 190_000
    assert SaleLine.objects.filter(quantity__lt=0).exists()
    assert Sale.objects.filter(receipt_number__startswith="C").exists()
    assert second.status == ImportStatus.DONE
    assert (Sale.objects.count(), SaleLine.objects.count()) == counts
    assert sorted(Sale.objects.values_list("receipt_number", "total"))[:50] == totals
    assert second.summary["lines_created"] == 0
    assert second.summary["lines_updated"] == 0
