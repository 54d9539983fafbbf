import pytest

from inventory.tests.factories import StoreFactory, staff_user

pytestmark = pytest.mark.django_db

OLD_DASHBOARD_URLS = ["/stock-dashboard", "/stock-dashboard/", "/stock_dashboard/"]


@pytest.mark.parametrize("url", OLD_DASHBOARD_URLS)
def test_old_dashboard_redirects_permanently_to_overview(client, url):
    response = client.get(url)

    assert response.status_code == 301
    assert response["Location"] == "/home/#stock-overview"


@pytest.mark.parametrize("url", OLD_DASHBOARD_URLS)
def test_old_dashboard_redirect_answers_head(client, url):
    response = client.head(url)

    assert response.status_code == 301
    assert response["Location"] == "/home/#stock-overview"


def test_old_dashboard_leads_logged_in_user_to_overview(client):
    client.force_login(staff_user(StoreFactory(name="Harbour Street")))

    response = client.get("/stock-dashboard/", follow=True)

    assert response.redirect_chain == [("/home/#stock-overview", 301)]
    assert response.status_code == 200
    assert 'id="stock-overview"' in response.content.decode()


def test_old_dashboard_anonymous_reaches_login(client):
    response = client.get("/stock_dashboard/", follow=True)

    assert response.redirect_chain[0] == ("/home/#stock-overview", 301)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/?next=/home/")


def test_old_dashboard_without_slash_reaches_overview(client):
    response = client.get("/stock_dashboard", follow=True)

    assert ("/home/#stock-overview", 301) in response.redirect_chain
