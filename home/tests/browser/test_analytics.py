import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import PaymentMethod
from inventory.tests.factories import SaleFactory, StoreFactory, staff_user
from settlements.services import settlement_record

pytestmark = pytest.mark.browser

CHART_IDS = [
    "chart-sales-by-hour",
    "chart-sales-trend",
    "chart-stock-movements",
    "chart-settlement-vs-sales",
]
# Short enough that the analytics section starts below the first screen.
SHORT_VIEWPORT = {"width": 1280, "height": 500}
CHART_LIBRARY_REQUESTS = (
    "performance.getEntriesByType('resource')"
    ".filter((entry) => entry.name.includes('chart.umd')).length"
)
CHARTS_DONE = "#analytics[data-analytics-state='done']"
TEXT_TOKEN = "getComputedStyle(document.documentElement).getPropertyValue('--chart-text').trim()"
TREND_TEXT_COLOR = "Chart.getChart(document.getElementById('chart-sales-trend')).options.color"


def store_with_a_week_of_sales():
    store = StoreFactory(code="HB01", name="Harbour Street")
    today = timezone.localdate()
    for offset in range(7):
        day = today - datetime.timedelta(days=offset)
        sold_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(0, 30)))
        SaleFactory(store=store, sold_at=sold_at, payment_method=PaymentMethod.CASH,
                    total=Decimal("100.00") + offset)
    return store


def open_home(signed_in, store, *, color_scheme="light"):
    user = staff_user(store, username="clerk")
    page = signed_in(user, color_scheme=color_scheme, viewport=SHORT_VIEWPORT)
    console_errors = []

    def console_error_note(message) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", console_error_note)
    page.wait_for_load_state("load")
    return page, console_errors


def charts_drawn(page) -> list[str]:
    return page.evaluate(
        "(ids) => ids.filter((id) => window.Chart && Chart.getChart(document.getElementById(id)))",
        CHART_IDS,
    )


def test_chart_library_loads_when_shown(signed_in):
    store = store_with_a_week_of_sales()
    page, console_errors = open_home(signed_in, store)
    section_top = page.evaluate("document.getElementById('analytics').getBoundingClientRect().top")
    viewport_height = page.evaluate("window.innerHeight")
    page.wait_for_timeout(500)

    requests_before = page.evaluate(CHART_LIBRARY_REQUESTS)
    page.locator("#analytics").scroll_into_view_if_needed()
    page.locator(CHARTS_DONE).wait_for()

    assert section_top > viewport_height, "the analytics section must start below the first screen"
    assert requests_before == 0
    assert page.evaluate(CHART_LIBRARY_REQUESTS) == 1
    assert charts_drawn(page) == CHART_IDS
    assert page.locator("[data-chart-frame][data-state='ready']").count() == 4
    assert console_errors == []


def test_settlement_status_has_icon_and_text(signed_in):
    store = store_with_a_week_of_sales()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    settlement_record(actor=staff_user(store, username="counter"), store=store,
                      business_date=yesterday, counted={PaymentMethod.CASH: "106.00"})
    page, console_errors = open_home(signed_in, store)

    page.locator("#analytics").scroll_into_view_if_needed()
    page.locator(CHARTS_DONE).wait_for()
    rows = page.locator(".settlement-days tbody tr")
    warn = rows.nth(5).locator(".recon-status")
    unsettled = rows.nth(6).locator(".recon-status")

    assert rows.count() == 7
    assert warn.inner_text().strip() == "WARN"
    assert warn.locator("use").get_attribute("href").endswith("icons.svg#warn")
    assert unsettled.inner_text().strip() == "– Not settled"
    assert console_errors == []


def test_dark_mode_redraws_charts(signed_in):
    store = store_with_a_week_of_sales()
    page, console_errors = open_home(signed_in, store)
    page.locator("#analytics").scroll_into_view_if_needed()
    page.locator(CHARTS_DONE).wait_for()
    light_text = page.evaluate(TREND_TEXT_COLOR)
    light_token = page.evaluate(TEXT_TOKEN)

    # The "portal:theme" listener redraws synchronously, within the click's handlers.
    page.locator("[data-theme-toggle]").first.click()
    dark_text = page.evaluate(TREND_TEXT_COLOR)
    dark_token = page.evaluate(TEXT_TOKEN)

    assert light_text == light_token
    assert dark_text == dark_token
    assert dark_text != light_text
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert charts_drawn(page) == CHART_IDS
    assert console_errors == []
