import pytest

from inventory.tests.factories import StoreFactory, staff_user

pytestmark = pytest.mark.browser


def test_staff_logs_in_and_lands_on_home_of_their_store(signed_in):
    store = StoreFactory(code="HB01", name="Harbour Street")
    page = signed_in(staff_user(store, username="clerk"))

    heading = page.locator("#stock-overview h2")

    assert page.url.endswith("/home/")
    assert "Harbour Street" in heading.inner_text()


def test_skip_link_moves_focus_to_main_content(signed_in):
    page = signed_in(staff_user(StoreFactory(), username="clerk"))

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "main"
