"""Quick Actions driven in Chromium by keyboard alone: Tab, Enter, arrows and typing."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import Sale, SerialStatus, StockLevel, Transfer
from inventory.tests.factories import StoreFactory, staff_user, stocked_product, stocked_unit
from settlements.models import Settlement
from settlements.services import settlement_record

pytestmark = pytest.mark.browser

# More Tab presses than Home has focusable elements before the last quick action.
TAB_PRESSES_MAX = 120
# A scanner sends a key every few milliseconds; people type about ten times slower.
SCANNER_KEY_DELAY_MS = 5
OPENER_FOCUSED = "document.activeElement.getAttribute('data-dialog-open')"


def _tab_to(page, selector: str) -> None:
    """Press Tab until the element matching the selector has focus."""
    for _ in range(TAB_PRESSES_MAX):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def _focused_id(page) -> str:
    return page.evaluate("document.activeElement.id")


@pytest.fixture
def north():
    return StoreFactory(code="N01", name="North")


@pytest.fixture
def south():
    return StoreFactory(code="S02", name="South")


def test_transfer_by_keyboard_links_to_detail(signed_in, north, south):
    product = stocked_product(north, on_hand=5, sku="CBL-1")
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "[data-dialog-open=transfer-dialog]")
    page.keyboard.press("Enter")
    expect(page.locator("#transfer-dialog")).to_be_visible()
    assert _focused_id(page) == "transfer-from_store"
    page.keyboard.press("Tab")
    page.keyboard.type("S0")
    page.keyboard.press("Tab")
    page.keyboard.type("CBL-1")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Enter")

    toast = page.locator(".toast-success")
    expect(toast).to_contain_text("is on its way from N01 to S02")
    expect(page.locator("#transfer-dialog")).to_be_hidden()
    assert page.evaluate(OPENER_FOCUSED) == "transfer-dialog"
    transfer = Transfer.objects.get()
    assert transfer.to_store == south
    assert StockLevel.objects.get(store=north, product=product).on_hand == 3

    toast.get_by_role("link", name=f"View transfer {transfer.pk}").click()

    page.wait_for_url(f"**/home/transfers/{transfer.pk}/")
    expect(page.get_by_role("heading", name=f"Transfer {transfer.pk}")).to_be_visible()
    expect(page.locator(".detail-facts")).to_contain_text("In transit")


def test_transfer_over_stock_rejected(signed_in, north, south):
    stocked_product(north, on_hand=1, sku="CBL-1")
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "[data-dialog-open=transfer-dialog]")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("S0")
    page.keyboard.press("Tab")
    page.keyboard.type("CBL-1")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("9")
    page.keyboard.press("Enter")

    quantity = page.locator("#transfer-quantity")
    expect(page.locator("#transfer-quantity_error")).to_contain_text("Only 1 of SKU CBL-1 in stock")
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(quantity).to_be_focused()
    expect(page.locator("#transfer-dialog")).to_be_visible()
    assert Transfer.objects.count() == 0
    assert StockLevel.objects.get(store=north, product__sku="CBL-1").on_hand == 1


def test_transfer_dialog_closes_on_escape_and_returns_focus(signed_in, north):
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "[data-dialog-open=transfer-dialog]")
    page.keyboard.press("Enter")
    expect(page.locator("#transfer-dialog")).to_be_visible()
    page.keyboard.press("Escape")

    expect(page.locator("#transfer-dialog")).to_be_hidden()
    assert page.evaluate(OPENER_FOCUSED) == "transfer-dialog"


def test_quick_sale_scan_moves_to_payment_then_records(signed_in, north):
    unit = stocked_unit(north, price="599.00")
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "[data-dialog-open=sale-dialog]")
    page.keyboard.press("Enter")
    assert _focused_id(page) == "sale-item"
    page.keyboard.type(unit.serial, delay=SCANNER_KEY_DELAY_MS)
    page.keyboard.press("Enter")
    expect(page.locator("#sale-payment_method_0")).to_be_focused()
    assert Sale.objects.count() == 0
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")

    toast = page.locator(".toast-success")
    expect(toast).to_contain_text("recorded at N01: 599.00 EUR by card")
    sale = Sale.objects.get()
    unit.refresh_from_db()
    assert sale.payment_method == "card"
    assert unit.status == SerialStatus.SOLD

    toast.get_by_role("link", name=f"View sale {sale.pk}").click()

    page.wait_for_url(f"**/home/sales/{sale.pk}/")
    expect(page.locator(".receipt")).to_contain_text(unit.serial)


def test_quick_sale_scan_submits_when_payment_is_remembered(signed_in, north):
    first, second = stocked_unit(north), stocked_unit(north)
    page = signed_in(staff_user(north, username="clerk"))
    _tab_to(page, "[data-dialog-open=sale-dialog]")
    page.keyboard.press("Enter")
    page.keyboard.type(first.serial, delay=SCANNER_KEY_DELAY_MS)
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.locator(".toast-success")).to_have_count(1)
    expect(page.locator("#sale-dialog")).to_be_hidden()

    page.keyboard.press("Enter")
    page.keyboard.type(second.serial, delay=SCANNER_KEY_DELAY_MS)
    page.keyboard.press("Enter")

    expect(page.locator(".toast-success")).to_have_count(2)
    assert Sale.objects.filter(payment_method="cash").count() == 2


def test_quick_sale_unknown_serial_rejected(signed_in, north):
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "[data-dialog-open=sale-dialog]")
    page.keyboard.press("Enter")
    page.keyboard.type("999999999999999", delay=SCANNER_KEY_DELAY_MS)
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")

    item = page.locator("#sale-item")
    expect(page.locator("#sale-item_error")).to_contain_text(
        "No product or serial matches '999999999999999'"
    )
    expect(item).to_have_attribute("aria-invalid", "true")
    expect(item).to_be_focused()
    assert Sale.objects.count() == 0


def test_quick_sale_escape_clears_item_and_errors(signed_in, north):
    page = signed_in(staff_user(north, username="clerk"))
    dialog = page.locator("#sale-dialog")
    page.locator("[data-dialog-open=sale-dialog]").click()
    page.locator("#sale-item").fill("999999999999999")
    page.locator("#sale-quantity").fill("3")
    page.locator("#sale-submit").click()
    expect(page.locator("#sale-item_error")).to_be_visible()

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.locator("[data-dialog-open=sale-dialog]").click()

    expect(dialog).to_be_visible()
    expect(page.locator("#sale-item")).to_have_value("")
    expect(page.locator("#sale-quantity")).to_have_value("1")
    expect(dialog.locator(".form-errors, .errorlist")).to_have_count(0)
    expect(page.locator("#sale-item")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#sale-item")).to_be_focused()


def test_transfer_cancel_clears_typed_values(signed_in, north):
    page = signed_in(staff_user(north, username="clerk"))
    page.locator("[data-dialog-open=transfer-dialog]").click()
    page.locator("#transfer-item").fill("CBL-1")

    page.locator("#transfer-dialog [data-dialog-close]").click()
    page.locator("[data-dialog-open=transfer-dialog]").click()

    expect(page.locator("#transfer-item")).to_have_value("")


def test_sale_after_reset_still_posts_with_htmx(signed_in, north):
    unit = stocked_unit(north, price="599.00")
    page = signed_in(staff_user(north, username="clerk"))
    page.locator("[data-dialog-open=sale-dialog]").click()
    page.locator("#sale-item").fill("nothing")
    page.keyboard.press("Escape")
    page.locator("[data-dialog-open=sale-dialog]").click()

    page.locator("#sale-item").fill(unit.serial)
    page.locator("#sale-payment_method_0").check()
    page.locator("#sale-submit").click()

    expect(page.locator(".toast-success")).to_contain_text("recorded at N01")
    expect(page.locator("#sale-dialog")).to_be_hidden()
    assert page.url.endswith("/home/")


def test_settlement_by_keyboard_shows_reconciliation(signed_in, north):
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "[data-dialog-open=settlement-dialog]")
    page.keyboard.press("Enter")
    _tab_to(page, "#settlement-cash")
    page.keyboard.type("50")
    page.keyboard.press("Enter")

    result = page.locator(".settlement-result")
    expect(result).to_contain_text("Reconciliation: FAIL")
    expect(result.locator(".badge-fail").first).to_be_visible()
    expect(page.locator("#settlement-result-title")).to_be_focused()
    expect(page.locator(".toast-success")).to_contain_text("saved: FAIL")
    settlement = Settlement.objects.get()
    assert settlement.business_date == timezone.localdate()
    assert settlement.status == "fail"


def test_settlement_dialog_shows_saved_counts(signed_in, north):
    clerk = staff_user(north, username="clerk")
    settlement_record(actor=clerk, store=north, business_date=timezone.localdate(),
                      counted={"cash": "50", "card": "20"})
    page = signed_in(clerk)

    page.locator("[data-dialog-open=settlement-dialog]").click()
    page.locator("#settlement-card").fill("")
    page.locator("#settlement-submit").click()

    expect(page.locator(".settlement-result")).to_contain_text("counted 50.00")
    settlement = Settlement.objects.get()
    assert settlement.counted_total == 50
    assert settlement.version == 2


def test_settlement_dialog_loads_saved_day_on_date_change(signed_in, north):
    clerk = staff_user(north, username="clerk")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    settlement_record(actor=clerk, store=north, business_date=yesterday,
                      counted={"cash": "75.5"})
    page = signed_in(clerk)
    page.locator("[data-dialog-open=settlement-dialog]").click()
    expect(page.locator("#settlement-saved-note")).to_have_count(0)

    page.locator("#settlement-business_date").fill(yesterday.isoformat())
    page.locator("#settlement-business_date").dispatch_event("change")

    expect(page.locator("#settlement-saved-note")).to_contain_text("by clerk")
    expect(page.locator("#settlement-cash")).to_have_value("75.50")
    expect(page.locator("#settlement-submit")).to_have_text("Update settlement")


def test_sale_refreshes_overview_and_chart(signed_in, north):
    stocked_product(north, on_hand=5, price="10.00", sku="CBL-1")
    page = signed_in(staff_user(north, username="clerk"))
    on_hand = page.locator("#stock-overview .kpi").nth(0).locator(".kpi-value")
    sold = page.locator("#stock-overview .kpi").nth(2).locator(".kpi-value")
    expect(on_hand).to_contain_text("5 units")
    page.locator("#analytics").scroll_into_view_if_needed()
    chart_total = page.locator("#analytics .chart-total").first
    expect(chart_total).to_contain_text("0.00")

    page.locator("[data-dialog-open=sale-dialog]").click()
    page.locator("#sale-item").fill("CBL-1")
    page.locator("#sale-payment_method_0").check()
    page.locator("#sale-submit").click()

    expect(page.locator(".toast-success")).to_contain_text("recorded at N01")
    expect(on_hand).to_contain_text("4 units")
    expect(sold).to_contain_text("10.00")
    expect(chart_total).to_contain_text("10.00")


def test_open_panel_reopens_after_sale(signed_in, north):
    stocked_product(north, on_hand=5, price="10.00", sku="CBL-1")
    page = signed_in(staff_user(north, username="clerk"))
    sold_button = page.locator('[data-drilldown="sold"]')
    sold_panel = page.locator("#drilldown-sold")
    sold_button.click()
    expect(sold_panel).to_contain_text("No sales at North")

    page.locator("[data-dialog-open=sale-dialog]").click()
    page.locator("#sale-item").fill("CBL-1")
    page.locator("#sale-payment_method_0").check()
    page.locator("#sale-submit").click()

    expect(page.locator(".toast-success")).to_contain_text("recorded at N01")
    expect(sold_panel).to_contain_text("1 sale, 1 unit, 10.00 EUR")
    expect(sold_panel).to_be_visible()
    expect(sold_button).to_have_attribute("aria-expanded", "true")
    expect(page.locator('[data-drilldown][aria-expanded="true"]')).to_have_count(1)
    expect(page.locator("[data-dialog-open=sale-dialog]")).to_be_focused()


def test_settlement_bad_amount_rejected(signed_in, north):
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "[data-dialog-open=settlement-dialog]")
    page.keyboard.press("Enter")
    _tab_to(page, "#settlement-card")
    page.keyboard.type("lots")
    page.keyboard.press("Enter")

    card = page.locator("#settlement-card")
    expect(page.locator("#settlement-card_error")).to_contain_text("'lots' is not an amount")
    expect(card).to_have_attribute("aria-invalid", "true")
    expect(card).to_be_focused()
    assert Settlement.objects.count() == 0


def test_find_price_by_keyboard(signed_in, north):
    stocked_product(north, price="12.50", sku="CBL-1")
    page = signed_in(staff_user(north, username="clerk"))

    _tab_to(page, "#price-q")
    page.keyboard.type("CBL-1")
    page.keyboard.press("Enter")
    expect(page.locator("#price-result")).to_contain_text("12.50 EUR")
    page.keyboard.press("Control+A")
    page.keyboard.type("NOPE-9")
    page.keyboard.press("Enter")

    expect(page.locator("#price-result")).to_contain_text("No product or serial matches 'NOPE-9'")


def test_find_stock_shortcut_and_scan_show_unit_status(signed_in, north, south):
    unit = stocked_unit(north)
    page = signed_in(staff_user(north, south, username="clerk"))

    page.keyboard.press("/")
    expect(page.locator("#stock-q")).to_be_focused()
    page.keyboard.type(unit.serial, delay=SCANNER_KEY_DELAY_MS)
    page.keyboard.press("Enter")

    result = page.locator("#stock-result")
    expect(result).to_contain_text(f"Serial {unit.serial}: In stock at N01")
    expect(result.locator("tbody tr")).to_have_count(1)
    assert page.evaluate(
        "document.activeElement.selectionEnd - document.activeElement.selectionStart"
    ) == len(unit.serial)


def test_transfer_prefill_button_fills_the_dialog(signed_in, north, south):
    page = signed_in(staff_user(north, south, username="clerk"))
    page.evaluate(
        """([fromStore, toStore]) => {
            const button = document.createElement("button");
            button.type = "button";
            button.textContent = "Prefilled transfer";
            button.setAttribute("data-transfer-prefill", "");
            button.setAttribute("data-from-store", fromStore);
            button.setAttribute("data-to-store", toStore);
            button.setAttribute("data-sku", "CBL-1");
            button.setAttribute("data-quantity", "4");
            document.querySelector("#quick-actions").append(button);
        }""",
        [str(south.pk), "N01"],
    )

    _tab_to(page, "[data-transfer-prefill]")
    page.keyboard.press("Enter")

    expect(page.locator("#transfer-dialog")).to_be_visible()
    expect(page.locator("#transfer-from_store")).to_have_value(str(south.pk))
    expect(page.locator("#transfer-to_store")).to_have_value(str(north.pk))
    expect(page.locator("#transfer-item")).to_have_value("CBL-1")
    expect(page.locator("#transfer-quantity")).to_have_value("4")
    expect(page.locator("#transfer-quantity")).to_be_focused()


def test_transfer_acknowledges_at_once_and_sends_once(signed_in, north, south):
    stocked_product(north, on_hand=5, sku="CBL-1")
    page = signed_in(staff_user(north, username="clerk"))
    _tab_to(page, "[data-dialog-open=transfer-dialog]")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("S0")
    page.keyboard.press("Tab")
    page.keyboard.type("CBL-1")
    page.keyboard.press("Tab")
    page.evaluate(BUSY_RECORDER, "#transfer-form")

    page.keyboard.press("Enter")
    page.keyboard.press("Enter")

    expect(page.locator(".toast-success")).to_have_count(1)
    busy_after_ms = page.evaluate("window.busyAt - window.enterAt")
    assert 0 <= busy_after_ms < 200
    assert Transfer.objects.count() == 1


# Records when Enter was first pressed and when the form first showed its loading state:
# aria-busy set and the submit button disabled.
BUSY_RECORDER = """(selector) => {
    const form = document.querySelector(selector);
    document.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && window.enterAt === undefined) {
            window.enterAt = performance.now();
        }
    }, true);
    const observer = new MutationObserver(() => {
        const button = form.querySelector("button[type=submit]");
        if (form.getAttribute("aria-busy") === "true" && button.disabled) {
            window.busyAt = performance.now();
            observer.disconnect();
        }
    });
    observer.observe(form, {attributes: true, subtree: true});
}"""


def test_expired_session_shows_toast_not_login_page(signed_in, north):
    stocked_product(north, sku="CBL-1")
    page = signed_in(staff_user(north, username="clerk"))
    page.context.clear_cookies()

    _tab_to(page, "#price-q")
    page.keyboard.type("CBL-1")
    page.keyboard.press("Enter")

    expect(page.locator(".toast-error")).to_contain_text("Your session has expired")
    expect(page.locator("#price-result")).to_be_empty()
