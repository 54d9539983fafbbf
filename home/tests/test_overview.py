import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from home.selectors import overview
from home.selectors.overview import (
    OverviewError,
    business_date_parse,
    low_stock_for_store,
    overview_kpis_for_store,
    stock_by_category_for_store,
)
from home.tests.overview_data import store_day_build
from imports.models import ImportJob, ImportStatus
from imports.tests.factories import ImportJobFactory
from inventory.models import MovementKind, Product, StockBucket, StockLevel, StockMovement, Store
from inventory.services.sales import SaleLineIn, sale_record
from inventory.tests.factories import StoreFactory, staff_user

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 4)


@pytest.fixture
def day():
    return store_day_build()


def panel_url(panel: str, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("home:overview-panel", args=[panel]) + ("?" + query if query else "")


# business_date_parse


def test_date_parse_empty_means_today():
    assert business_date_parse("", today=TODAY) == TODAY
    assert business_date_parse(None, today=TODAY) == TODAY


def test_date_parse_accepts_past_date():
    assert business_date_parse("2026-11-30", today=TODAY) == datetime.date(2026, 11, 30)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2026-13-01", "'2026-13-01' is not a date. Enter it as YYYY-MM-DD"),
        ("yesterday", "'yesterday' is not a date."),
        ("20261201", "'20261201' is not a date."),
        ("2026-12-05", "2026-12-05 is in the future."),
        ("1999-12-31", "1999-12-31 is too early."),
    ],
)
def test_date_parse_rejects_bad_value(raw, message):
    with pytest.raises(OverviewError) as caught:
        business_date_parse(raw, today=TODAY)

    assert caught.value.message.startswith(message)
    assert caught.value.field_errors["date"] == [caught.value.message]


# Selectors


def test_stock_by_category_sums_each_category(day, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        stock = stock_by_category_for_store(store=day.here)

    rows = {row.category: row for row in stock.rows}
    assert list(rows) == ["Accessories", "Cables", "Phones"]
    assert (rows["Accessories"].skus, rows["Accessories"].on_hand) == (2, 5)
    assert rows["Accessories"].inbound == 5
    assert rows["Accessories"].low_stock == 2
    assert (rows["Cables"].skus, rows["Cables"].on_hand, rows["Cables"].low_stock) == (2, 36, 0)
    assert rows["Phones"].on_hand == 2
    assert (stock.total.skus, stock.total.on_hand, stock.total.inbound) == (5, 43, 5)


def test_stock_by_category_is_cached_until_stock_changes(day, django_assert_num_queries):
    stock_by_category_for_store(store=day.here)

    with django_assert_num_queries(1):
        cached = stock_by_category_for_store(store=day.here)
    sale_record(
        actor=day.staff, store=day.here, lines=[SaleLineIn(sku="CBL-1", quantity=2)],
        payment_method="cash",
    )
    fresh = stock_by_category_for_store(store=day.here)

    assert cached.total.on_hand == 43
    assert fresh.total.on_hand == 41


def import_adds_cables(store: Store, job: ImportJob, *, row: int, units: int) -> None:
    """Add units of CBL-1 at the store as a stock import's finalizing does, with its ledger row."""
    level = StockLevel.objects.get(store=store, product__sku="CBL-1")
    StockMovement.objects.create(
        store=store, product=level.product, kind=MovementKind.IMPORT_ADJUSTMENT,
        bucket=StockBucket.ON_HAND, quantity=units, before=level.on_hand,
        after=level.on_hand + units, import_job_id=job.pk, import_row=row,
    )
    StockLevel.objects.filter(pk=level.pk).update(on_hand=level.on_hand + units)


def test_stock_read_reused_while_import_runs(day):
    stock_by_category_for_store(store=day.here)
    job = ImportJobFactory(status=ImportStatus.FINALIZING, stores=[day.here])

    import_adds_cables(day.here, job, row=2, units=10)
    during = stock_by_category_for_store(store=day.here)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE)
    finished = stock_by_category_for_store(store=day.here)

    assert during.total.on_hand == 43
    assert finished.total.on_hand == 53


@pytest.mark.parametrize(
    ("read_after_sale", "on_hand_after_next_chunk"),
    # A read after the sale includes it, and the next chunk's view reuses that read.
    # Without one, that view reads again because the sale came after the last read.
    [(True, 51), (False, 56)],
)
def test_sale_during_import_shows(day, read_after_sale, on_hand_after_next_chunk):
    stock_by_category_for_store(store=day.here)
    job = ImportJobFactory(status=ImportStatus.FINALIZING, stores=[day.here])

    import_adds_cables(day.here, job, row=2, units=10)
    sale_record(
        actor=day.staff, store=day.here, lines=[SaleLineIn(sku="CBL-1", quantity=2)],
        payment_method="cash",
    )
    if read_after_sale:
        assert stock_by_category_for_store(store=day.here).total.on_hand == 51
    import_adds_cables(day.here, job, row=3, units=5)
    after_next_chunk = stock_by_category_for_store(store=day.here)

    assert after_next_chunk.total.on_hand == on_hand_after_next_chunk


def test_stock_read_during_import_expires(day, monkeypatch):
    stock_by_category_for_store(store=day.here)
    job = ImportJobFactory(status=ImportStatus.FINALIZING, stores=[day.here])
    monkeypatch.setattr(overview, "IMPORT_REUSE_SECONDS", 0)

    import_adds_cables(day.here, job, row=2, units=10)
    during = stock_by_category_for_store(store=day.here)

    assert during.total.on_hand == 53


def test_low_stock_reused_while_import_runs(day):
    low_before = low_stock_for_store(store=day.here, user=day.staff, limit=8)
    job = ImportJobFactory(status=ImportStatus.FINALIZING, stores=[day.here])

    StockLevel.objects.filter(store=day.here, product__sku="CHG-1").update(on_hand=20)
    import_adds_cables(day.here, job, row=2, units=10)
    low_during = low_stock_for_store(store=day.here, user=day.staff, limit=8)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED)
    low_finished = low_stock_for_store(store=day.here, user=day.staff, limit=8)

    assert [row.sku for row in low_before] == ["CHG-1", "CASE-1"]
    assert [row.sku for row in low_during] == ["CHG-1", "CASE-1"]
    assert [row.sku for row in low_finished] == ["CASE-1"]


def test_stock_by_category_names_blank_category(day):
    Product.objects.filter(sku="CBL-1").update(category="")

    stock = stock_by_category_for_store(store=day.here)

    assert "Uncategorised" in [row.category for row in stock.rows]


def test_kpis_count_stock_sales_and_low_stock(day, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        kpis = overview_kpis_for_store(store=day.here, business_date=timezone.localdate())

    assert kpis.on_hand == 43
    assert kpis.inbound == 5
    assert kpis.sold_amount == Decimal("59.97")
    assert kpis.sold_units == 3
    assert kpis.sales == 1
    assert kpis.low_stock == 2


def test_kpis_sold_follow_the_date(day):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    kpis = overview_kpis_for_store(store=day.here, business_date=yesterday)

    assert kpis.sold_units == 1
    assert kpis.sales == 1
    assert kpis.on_hand == 43


def test_low_stock_skips_inactive_products(day):
    Product.objects.filter(sku="CASE-1").update(is_active=False)

    rows = low_stock_for_store(store=day.here, user=day.staff, limit=10)

    assert [row.sku for row in rows] == ["CHG-1"]


def test_low_stock_orders_by_shortfall(day):
    rows = low_stock_for_store(store=day.here, user=day.back_office, limit=10)

    assert [row.sku for row in rows] == ["CHG-1", "CASE-1"]
    assert [row.shortfall for row in rows] == [4, 1]


def test_low_stock_source_prefers_own_stores(day):
    rows = low_stock_for_store(store=day.here, user=day.staff, limit=10)

    source = rows[0].source
    assert source.store_code == "SISTER"
    assert source.surplus == 4
    assert source.quantity == 4
    assert source.user_may_act is True


def test_low_stock_source_largest_surplus(day, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        rows = low_stock_for_store(store=day.here, user=day.back_office, limit=10)

    source = rows[0].source
    assert source.store_code == "SPARE"
    assert source.surplus == 20
    assert source.quantity == 4


def test_low_stock_source_falls_back_to_others(day):
    StockLevel.objects.filter(store=day.sister, product=day.charger).update(on_hand=5)

    rows = low_stock_for_store(store=day.here, user=day.staff, limit=10)

    assert rows[0].source.store_code == "SPARE"
    assert rows[0].source.user_may_act is False


def test_low_stock_source_skips_closed_store(day):
    shut = StoreFactory(code="SHUT")
    StockLevel.objects.create(store=shut, product=day.case, on_hand=50)

    rows = low_stock_for_store(store=day.here, user=day.back_office, limit=10)

    assert rows[1].sku == "CASE-1"
    assert rows[1].source is None


# Page


def test_home_shows_kpis_of_selected_store(client, day):
    client.force_login(day.staff)

    response = client.get("/home/")

    html = response.content.decode()
    assert response.context["store"] == day.here
    assert 'id="stock-overview"' in html
    assert "Sold Today" in html
    assert "59.97" in html
    assert re.search(r'class="kpi-value">43 <span class="kpi-unit">units', html)


def test_home_overview_follows_date(client, day):
    client.force_login(day.staff)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = client.get("/home/", {"date": yesterday.isoformat()})

    assert response.context["kpis"].sold_units == 1
    assert f"Sold on {yesterday.day} {yesterday:%b %Y}" in response.content.decode()
    assert f"date={yesterday.isoformat()}" in response.content.decode()
    assert "On-hand, inbound and low-stock show the stock now." in response.content.decode()
    assert response.content.decode().count('<span class="kpi-when">now</span>') == 3


def test_home_overview_today_has_no_now_labels(client, day):
    client.force_login(day.staff)

    response = client.get("/home/")

    assert "kpi-when" not in response.content.decode()
    assert "show the stock now" not in response.content.decode()


def test_home_shows_field_error_for_bad_date(client, day):
    client.force_login(day.staff)

    response = client.get("/home/", {"date": "2026-02-31"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-invalid="true" aria-describedby="overview-date-error"' in html
    assert "&#x27;2026-02-31&#x27; is not a date." in html
    assert response.context["business_date"] == timezone.localdate()


def test_home_kpi_buttons_control_their_panels(client, day):
    client.force_login(day.staff)

    html = client.get("/home/").content.decode()

    for panel in ("on-hand", "inbound", "sold", "low-stock"):
        assert f'aria-controls="drilldown-{panel}"' in html
        assert f'id="drilldown-{panel}"' in html
        assert f'hx-get="/home/overview/{panel}/?store={day.here.pk}&amp;date=' in html
    assert html.count('aria-expanded="false"') >= 4


def test_home_low_stock_row_prefills_transfer(client, day):
    client.force_login(day.staff)

    html = client.get("/home/").content.decode()

    button = re.search(r"<button[^>]*data-transfer-prefill[^>]*>", html).group(0)
    assert f'data-from-store="{day.sister.pk}"' in button
    assert f'data-to-store="{day.here.pk}"' in button
    assert 'data-sku="CHG-1"' in button
    assert 'data-quantity="4"' in button
    assert "Transfer from SISTER" in html


def test_home_low_stock_hints_at_foreign_source(client, day):
    StockLevel.objects.filter(store=day.sister, product=day.charger).update(on_hand=5)
    client.force_login(day.staff)

    html = client.get("/home/").content.decode()

    assert "data-transfer-prefill" not in html
    assert "Transfer from SPARE" not in html
    assert "SPARE has 20 spare. It is not one of your stores, so ask SPARE to send" in html


def test_home_page_query_count_is_capped(client, day, django_assert_max_num_queries):
    client.force_login(day.staff)
    client.get("/home/")

    with django_assert_max_num_queries(30):
        response = client.get("/home/")

    assert response.status_code == 200


# Drill-down panels


def test_panel_on_hand_lists_categories_and_top_skus(client, day, django_assert_max_num_queries):
    client.force_login(day.staff)

    with django_assert_max_num_queries(15):
        response = client.get(panel_url("on-hand", store=day.here.pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert "On-hand by category and top SKUs" in html
    assert html.index("CBL-1") < html.index("CASE-1")


def test_panel_inbound_links_transfers(client, day, django_assert_max_num_queries):
    client.force_login(day.staff)

    with django_assert_max_num_queries(15):
        response = client.get(panel_url("inbound", store=day.here.pk))

    html = response.content.decode()
    assert f"Transfer {day.transfer.pk}" in html
    assert f'href="{reverse("home:transfer-detail", args=[day.transfer.pk])}"' in html
    assert "SPARE · Spare Store" in html


def test_panel_sold_lists_sales_of_the_date(client, day, django_assert_max_num_queries):
    client.force_login(day.staff)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    with django_assert_max_num_queries(15):
        today_html = client.get(panel_url("sold", store=day.here.pk)).content.decode()
    past_html = client.get(
        panel_url("sold", store=day.here.pk, date=yesterday.isoformat())
    ).content.decode()

    assert "Sales today" in today_html
    assert "Cash" in today_html
    assert f"Sales on {yesterday.day} {yesterday:%b %Y}" in past_html
    assert "Card" in past_html


def test_panel_low_stock_lists_every_low_sku(client, day, django_assert_max_num_queries):
    client.force_login(day.back_office)

    with django_assert_max_num_queries(15):
        response = client.get(panel_url("low-stock", store=day.here.pk))

    html = response.content.decode()
    assert "Low-stock SKUs" in html
    assert "Transfer from SPARE" in html
    assert "No store has spare stock" in html


def test_panel_defaults_to_selected_store(client, day):
    client.force_login(day.staff)

    response = client.get(panel_url("low-stock"))

    assert response.status_code == 200
    assert response.context["store"] == day.here


def test_panel_rejects_store_of_others(client, day):
    client.force_login(day.staff)

    response = client.get(panel_url("sold", store=day.spare.pk))

    assert response.status_code == 404
    assert f"Store {day.spare.pk} was not found among your stores." in response.content.decode()


def test_panel_rejects_bad_date(client, day):
    client.force_login(day.staff)

    response = client.get(panel_url("sold", store=day.here.pk, date="tomorrow"))

    assert response.status_code == 400
    assert "is not a date" in response.content.decode()


def test_panel_unknown_name_is_404(client, day):
    client.force_login(day.staff)

    response = client.get(panel_url("margins", store=day.here.pk))

    assert response.status_code == 404


def test_panel_for_user_without_stores_is_404(client):
    client.force_login(staff_user())

    response = client.get(panel_url("on-hand"))

    assert response.status_code == 404
    assert "not a member of any store" in response.content.decode()
