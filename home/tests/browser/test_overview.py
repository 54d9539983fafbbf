import pytest
from playwright.sync_api import expect

from home.tests.overview_data import store_day_build

pytestmark = pytest.mark.browser


def test_old_dashboard_url_lands_on_overview(signed_in):
    day = store_day_build()
    page = signed_in(day.staff)

    page.goto("/stock-dashboard/")

    assert page.url.endswith("/home/#stock-overview")
    assert page.locator("#stock-overview h2").inner_text().startswith("Store overview")


def test_theme_toggle_switches_and_persists(signed_in):
    day = store_day_build()
    page = signed_in(day.staff, color_scheme="light")
    toggle = page.get_by_role("button", name="Dark mode")
    light_background = page.evaluate("getComputedStyle(document.body).backgroundColor")

    toggle.click()
    dark_background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.reload()

    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert page.get_by_role("button", name="Dark mode").get_attribute("aria-pressed") == "true"
    assert dark_background != light_background
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == dark_background


def test_low_stock_drilldown_opens_by_keyboard(signed_in):
    day = store_day_build()
    page = signed_in(day.staff)
    button = page.locator('[data-drilldown="low-stock"]')
    panel = page.locator("#drilldown-low-stock")

    button.focus()
    page.keyboard.press("Enter")
    panel.get_by_role("heading", name="Low-stock SKUs").wait_for()

    assert button.get_attribute("aria-expanded") == "true"
    assert panel.is_visible()
    assert panel.get_by_role("button", name="Transfer from SISTER").count() == 1
    expect(page.locator("#live-region")).to_have_text("Low-stock SKUs loaded.")

    button.focus()
    page.keyboard.press("Enter")

    expect(button).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()


def test_phone_width_page_does_not_scroll_sideways(signed_in):
    day = store_day_build()
    page = signed_in(day.staff, viewport={"width": 390, "height": 844})
    expect(page.get_by_role("button", name="Transfer from SISTER").first).to_be_attached()

    page.locator("#analytics").scroll_into_view_if_needed()
    page.locator("#analytics [data-chart-frame]").first.wait_for()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    inner_width = page.evaluate("window.innerWidth")

    assert inner_width == 390
    assert scroll_width <= inner_width

    page.locator('[data-drilldown="low-stock"]').click()
    page.locator("#drilldown-low-stock").get_by_role("heading", name="Low-stock SKUs").wait_for()

    assert page.evaluate("document.documentElement.scrollWidth") <= inner_width
