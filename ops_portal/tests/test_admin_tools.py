"""The shared admin pieces: the estimating paginator and the display formatters."""

from decimal import Decimal

import pytest
from django.db import connection

from inventory.models import Store
from inventory.tests.factories import StoreFactory
from ops_portal.admin_tools import (
    EstimatedCountPaginator,
    money_display,
    quantity_display,
    table_row_estimate,
)

pytestmark = pytest.mark.django_db


def test_paginator_counts_filtered_exactly(monkeypatch):
    StoreFactory.create_batch(3, is_active=False)
    StoreFactory.create_batch(2)
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below", 0)

    paginator = EstimatedCountPaginator(Store.objects.filter(is_active=True), 100)

    assert paginator.count == 2
    assert paginator.count_is_estimate is False


def test_paginator_counts_small_table_exactly():
    StoreFactory.create_batch(3)

    paginator = EstimatedCountPaginator(Store.objects.all(), 100)

    assert paginator.count == 3
    assert paginator.count_is_estimate is False


def test_paginator_uses_estimate_on_mysql(mysql_only, monkeypatch):
    StoreFactory.create_batch(3)
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below", 0)

    paginator = EstimatedCountPaginator(Store.objects.order_by("code"), 100)

    assert paginator.count == table_row_estimate(Store.objects.all())
    assert paginator.count_is_estimate is True


def test_row_estimate_absent_on_sqlite():
    if connection.vendor == "mysql":
        pytest.skip("MySQL and MariaDB return an estimate")

    assert table_row_estimate(Store.objects.all()) is None


def test_row_estimate_absent_when_filtered():
    assert table_row_estimate(Store.objects.filter(code="S001")) is None


def test_money_display_separates_thousands():
    assert money_display(Decimal("1234567.5")) == "1,234,567.50 EUR"
    assert money_display(Decimal("19.99"), "USD") == "19.99 USD"
    assert money_display(None) is None


def test_quantity_display_signs_changes():
    assert quantity_display(12500) == "12,500"
    assert quantity_display(3, signed=True) == "+3"
    assert quantity_display(-1200, signed=True) == "-1,200"
    assert quantity_display(None) is None
