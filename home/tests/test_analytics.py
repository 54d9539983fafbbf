import datetime
from decimal import Decimal

import factory
import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from home.selectors.analytics import (
    sales_by_hour_for_store,
    sales_trend_for_store,
    settlement_vs_sales_for_store,
    stock_movements_for_store,
)
from home.views.analytics import analytics_context
from inventory.models import MovementKind, PaymentMethod, StockBucket, StockMovement
from inventory.tests.factories import (
    ProductFactory,
    SaleFactory,
    StoreFactory,
    back_office_user,
    staff_user,
)
from settlements.models import ReconciliationStatus
from settlements.services import settlement_record

pytestmark = pytest.mark.django_db


class StockMovementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockMovement

    store = factory.SubFactory(StoreFactory)
    product = factory.SubFactory(ProductFactory)
    kind = MovementKind.MANUAL_CORRECTION
    bucket = StockBucket.ON_HAND
    quantity = 1
    before = 10
    after = factory.LazyAttribute(lambda movement: movement.before + movement.quantity)


def movement_at(when: datetime.datetime, **kwargs) -> StockMovement:
    """A ledger row dated `when`. The model sets created_at on insert, so it is updated after."""
    movement = StockMovementFactory(**kwargs)
    StockMovement.objects.filter(pk=movement.pk).update(created_at=when)
    return movement


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def yesterday() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=1)


def test_sales_by_hour_buckets_known_hours():
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=local(day, 9, 15), total=Decimal("10.00"))
    SaleFactory(store=store, sold_at=local(day, 9, 59), total=Decimal("5.50"))
    SaleFactory(store=store, sold_at=local(day, 14, 0), total=Decimal("20.00"))
    SaleFactory(store=StoreFactory(), sold_at=local(day, 9, 30), total=Decimal("99.00"))
    day_before = day - datetime.timedelta(days=1)
    SaleFactory(store=store, sold_at=local(day_before, 9, 0), total=Decimal("7.00"))

    series = sales_by_hour_for_store(store=store, day=day)

    assert len(series.hours) == 24
    assert series.hours[9].label == "09:00"
    assert series.hours[9].amount == Decimal("15.50")
    assert series.hours[9].count == 2
    assert series.hours[14].amount == Decimal("20.00")
    assert series.hours[10].amount == Decimal("0.00")
    assert series.hours[10].count == 0
    assert series.total_amount == Decimal("35.50")
    assert series.total_count == 3
    assert series.busiest.label == "14:00"


def test_sales_by_hour_uses_portal_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    store = StoreFactory()
    day = datetime.date(2026, 7, 1)
    # 22:30 UTC on 30 June is 00:30 on 1 July in Berlin (UTC+2 in summer).
    SaleFactory(store=store, sold_at=datetime.datetime(2026, 6, 30, 22, 30, tzinfo=datetime.UTC),
                total=Decimal("8.00"))
    # 22:30 UTC on 1 July is already 2 July in Berlin.
    SaleFactory(store=store, sold_at=datetime.datetime(2026, 7, 1, 22, 30, tzinfo=datetime.UTC),
                total=Decimal("9.00"))

    series = sales_by_hour_for_store(store=store, day=day)

    assert series.hours[0].label == "00:00"
    assert series.hours[0].amount == Decimal("8.00")
    assert series.total_amount == Decimal("8.00")


@pytest.mark.parametrize(
    ("day", "hours"),
    [(datetime.date(2026, 3, 29), 23), (datetime.date(2026, 10, 25), 25)],
)
def test_sales_by_hour_on_dst_days(settings, day, hours):
    settings.TIME_ZONE = "Europe/Berlin"
    store = StoreFactory()
    SaleFactory(store=store, sold_at=local(day, 23, 30), total=Decimal("4.00"))

    series = sales_by_hour_for_store(store=store, day=day)

    assert len(series.hours) == hours
    assert series.hours[0].label == "00:00"
    assert series.hours[-1].label == "23:00"
    assert series.hours[-1].amount == Decimal("4.00")


def test_sales_by_hour_is_one_query(django_assert_num_queries):
    store = StoreFactory()

    with django_assert_num_queries(1):
        sales_by_hour_for_store(store=store, day=yesterday())


def test_sales_trend_sums_each_of_seven_days():
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=local(day, 0, 0), total=Decimal("12.00"))
    SaleFactory(store=store, sold_at=local(day, 23, 59), total=Decimal("3.00"))
    for offset, total in ((-6, "40.00"), (-7, "99.00"), (1, "98.00")):
        sold_at = local(day + datetime.timedelta(days=offset), 10)
        SaleFactory(store=store, sold_at=sold_at, total=Decimal(total))

    series = sales_trend_for_store(store=store, day=day)

    assert [entry.date for entry in series.days] == [
        day - datetime.timedelta(days=offset) for offset in range(6, -1, -1)
    ]
    assert series.days[0].amount == Decimal("40.00")
    assert series.days[-1].amount == Decimal("15.00")
    assert series.days[-1].count == 2
    assert series.days[3].amount == Decimal("0.00")
    assert series.total_amount == Decimal("55.00")
    assert series.total_count == 3


def test_sales_trend_nets_returns():
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=local(day, 10), total=Decimal("50.00"))
    SaleFactory(store=store, sold_at=local(day, 11), total=Decimal("-20.00"))

    series = sales_trend_for_store(store=store, day=day)

    assert series.days[-1].amount == Decimal("30.00")


def test_sales_trend_is_one_query(django_assert_num_queries):
    store = StoreFactory()

    with django_assert_num_queries(1):
        sales_trend_for_store(store=store, day=yesterday())


def test_stock_movements_in_and_out_per_kind():
    store = StoreFactory()
    day = yesterday()
    noon = local(day, 12)
    movement_at(noon, store=store, kind=MovementKind.SALE, quantity=-2)
    movement_at(noon, store=store, kind=MovementKind.SALE, quantity=-1)
    movement_at(noon, store=store, kind=MovementKind.RETURN, quantity=1)
    movement_at(noon, store=store, kind=MovementKind.TRANSFER_OUT, quantity=-3)
    movement_at(noon, store=store, kind=MovementKind.TRANSFER_IN, quantity=3,
                bucket=StockBucket.INBOUND)
    movement_at(local(day - datetime.timedelta(days=6), 8), store=store,
                kind=MovementKind.TRANSFER_IN, quantity=4)
    movement_at(noon, store=store, kind=MovementKind.IMPORT_ADJUSTMENT, quantity=10)
    movement_at(noon, store=store, kind=MovementKind.IMPORT_ADJUSTMENT, quantity=-2)
    movement_at(local(day - datetime.timedelta(days=7), 12), store=store,
                kind=MovementKind.SALE, quantity=-50)
    movement_at(noon, store=StoreFactory(), kind=MovementKind.SALE, quantity=-60)

    series = stock_movements_for_store(store=store, day=day)
    by_kind = {kind.kind: (kind.quantity_in, kind.quantity_out) for kind in series.kinds}

    assert [kind.kind for kind in series.kinds] == list(MovementKind.values)
    assert by_kind[MovementKind.SALE] == (0, 3)
    assert by_kind[MovementKind.RETURN] == (1, 0)
    assert by_kind[MovementKind.TRANSFER_OUT] == (0, 3)
    assert by_kind[MovementKind.TRANSFER_IN] == (4, 0)
    assert by_kind[MovementKind.IMPORT_ADJUSTMENT] == (10, 2)
    assert by_kind[MovementKind.MANUAL_CORRECTION] == (0, 0)
    assert series.total_in == 15
    assert series.total_out == 8
    assert series.date_from == day - datetime.timedelta(days=6)
    assert series.date_to == day


def test_stock_movements_is_one_query(django_assert_num_queries):
    store = StoreFactory()

    with django_assert_num_queries(1):
        stock_movements_for_store(store=store, day=yesterday())


def test_settlement_series_warns_on_difference():
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=local(day, 10), payment_method=PaymentMethod.CASH,
                total=Decimal("100.00"))
    settlement_record(actor=staff_user(store), store=store, business_date=day,
                      counted={PaymentMethod.CASH: "105.00"})

    series = settlement_vs_sales_for_store(store=store, day=day)
    last = series.days[-1]

    assert last.date == day
    assert last.sales == Decimal("100.00")
    assert last.counted == Decimal("105.00")
    assert last.difference == Decimal("5.00")
    assert last.status == ReconciliationStatus.WARN
    assert last.status_label == "WARN"


def test_settlement_series_unsettled_day():
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=local(day - datetime.timedelta(days=2), 10),
                total=Decimal("30.00"))

    series = settlement_vs_sales_for_store(store=store, day=day)
    unsettled = series.days[-3]

    assert len(series.days) == 7
    assert unsettled.sales == Decimal("30.00")
    assert unsettled.counted is None
    assert unsettled.difference is None
    assert unsettled.status is None
    assert unsettled.status_label == "Not settled"


def test_settlement_series_compares_each_method():
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=local(day, 10), payment_method=PaymentMethod.CASH,
                total=Decimal("100.00"))
    SaleFactory(store=store, sold_at=local(day, 11), payment_method=PaymentMethod.CARD,
                total=Decimal("100.00"))
    settlement_record(actor=back_office_user(), store=store, business_date=day,
                      counted={PaymentMethod.CASH: "130.00", PaymentMethod.CARD: "70.00"})

    last = settlement_vs_sales_for_store(store=store, day=day).days[-1]

    assert last.difference == Decimal("0.00")
    assert last.status == ReconciliationStatus.FAIL


def test_settlement_series_follows_later_sales():
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=local(day, 10), total=Decimal("100.00"))
    settlement_record(actor=back_office_user(), store=store, business_date=day,
                      counted={PaymentMethod.CASH: "100.00"})
    SaleFactory(store=store, sold_at=local(day, 18), total=Decimal("50.00"))

    last = settlement_vs_sales_for_store(store=store, day=day).days[-1]

    assert last.sales == Decimal("150.00")
    assert last.difference == Decimal("-50.00")
    assert last.status == ReconciliationStatus.FAIL


def test_settlement_series_is_two_queries(django_assert_num_queries):
    store = StoreFactory()

    with django_assert_num_queries(2):
        settlement_vs_sales_for_store(store=store, day=yesterday())


def test_analytics_context_is_five_queries(django_assert_num_queries):
    store = StoreFactory()
    SaleFactory(store=store, sold_at=local(yesterday(), 10), total=Decimal("10.00"))

    with django_assert_num_queries(5):
        context = analytics_context(store=store, day=yesterday())

    assert "10.00 from 1 sale." in context["summaries"]["sales_by_hour"]
    assert context["series_urls"]["sales_trend"] == (
        f"/api/home/analytics/sales-trend?store={store.pk}&date={yesterday():%Y-%m-%d}"
    )


def test_section_renders_charts_and_tables(client):
    store = StoreFactory()
    today = timezone.localdate()
    SaleFactory(store=store, sold_at=timezone.now(), total=Decimal("42.00"))
    settlement_record(actor=back_office_user(), store=store, business_date=today,
                      counted={PaymentMethod.CASH: "47.00"})
    client.force_login(back_office_user(username="viewer"))

    response = client.get(f"/home/analytics/?store={store.pk}&date={today:%Y-%m-%d}")
    html = response.content.decode()

    assert response.status_code == 200
    assert 'id="analytics"' in html
    assert "Sales Today by hour" in html
    assert html.count('role="img"') == 4
    assert html.count("<canvas") == 4
    assert 'data-chartjs-src="/static/vendor/chartjs-4.6.1/chart.umd.min.js"' in html
    assert "<script" not in html
    assert "42.00" in html
    assert "+5.00" in html
    assert "WARN" in html
    assert "Not settled" in html


def test_section_follows_requested_date(client):
    store = StoreFactory()
    day = timezone.localdate() - datetime.timedelta(days=3)
    client.force_login(back_office_user())

    html = client.get(f"/home/analytics/?store={store.pk}&date={day:%Y-%m-%d}").content.decode()

    assert f"Sales by hour, {day.day} {day:%b}" in html
    assert "Sales Today by hour" not in html
    assert f"sales-by-hour?store={store.pk}&amp;date={day:%Y-%m-%d}" in html


def test_section_of_another_store_is_not_found(client):
    own, other = StoreFactory(), StoreFactory()
    client.force_login(staff_user(own))

    response = client.get(f"/home/analytics/?store={other.pk}")

    assert response.status_code == 404
    assert "Sales" not in response.content.decode()


def test_home_defers_analytics_queries_to_the_section(rf):
    store = StoreFactory()
    today = timezone.localdate()

    html = render_to_string(
        "home/partials/analytics.html",
        {"store": store, "business_date": today},
        request=rf.get("/home/"),
    )

    assert 'hx-trigger="revealed"' in html
    assert f"/home/analytics/?store={store.pk}&amp;date={today:%Y-%m-%d}" in html
    assert "<canvas" not in html
