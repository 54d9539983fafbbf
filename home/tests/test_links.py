"""Crawl every page reachable from Home, for each role, and fail on broken links.

The crawl is breadth first from /home/ and follows <a href> and hx-get targets on the
same site. It stops expanding at depth 2 and after 300 fetched URLs. Admin pages are
fetched wherever they are linked, but only the admin index is expanded, so the crawl
checks the admin's first-level links without walking every change form.
"""

from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from home.tests.overview_data import store_day_build
from inventory.tests.factories import operations_user

pytestmark = pytest.mark.django_db

MAX_DEPTH = 2
MAX_PAGES = 300
# Links that end the session or accept only POST are not pages to fetch.
SKIPPED_PREFIXES = ("/accounts/logout/", "/admin/logout/")
EXPANDED_ADMIN_PATHS = {"/admin/"}


class LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if values.get("hx-get"):
            self.links.append(values["hx-get"])


@dataclass(frozen=True)
class Broken:
    url: str
    status: int
    found_on: str


def same_site_url(base: str, link: str) -> str | None:
    """Return the link as a path with query, or None when it leaves the portal."""
    absolute, _fragment = urldefrag(urljoin("http://testserver" + base, link.strip()))
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if path.startswith(SKIPPED_PREFIXES):
        return None
    return path


def expandable(url: str, content_type: str) -> bool:
    if not content_type.startswith("text/html"):
        return False
    path = urlsplit(url).path
    return not path.startswith("/admin/") or path in EXPANDED_ADMIN_PATHS


def crawl(client, start: str = "/home/") -> tuple[list[Broken], set[str]]:
    queue = deque([(start, 0, "(start)")])
    seen = {start}
    broken: list[Broken] = []
    while queue and len(seen) <= MAX_PAGES:
        url, depth, found_on = queue.popleft()
        response = client.get(url)
        if response.status_code == 404 or response.status_code >= 500:
            broken.append(Broken(url, response.status_code, found_on))
            continue

        if response.status_code in (301, 302, 303, 307, 308):
            links = [response["Location"]]
            next_depth = depth
        elif depth < MAX_DEPTH and expandable(url, response.get("Content-Type", "")):
            parser = LinkParser()
            parser.feed(response.content.decode("utf-8", "replace"))
            links = parser.links
            next_depth = depth + 1
        else:
            continue

        for link in links:
            target = same_site_url(url, link)
            if target is None or target in seen:
                continue
            seen.add(target)
            queue.append((target, next_depth, url))
    return broken, seen


@pytest.fixture
def day():
    return store_day_build()


@pytest.mark.parametrize("role", ["store staff", "back office", "operations"])
def test_every_link_from_home_resolves(client, day, role):
    user = {
        "store staff": day.staff,
        "back office": day.back_office,
        "operations": operations_user(username="operator"),
    }[role]
    client.force_login(user)

    broken, seen = crawl(client)

    assert broken == []
    assert f"/home/transfers/{day.transfer.pk}/" in seen
    assert any(url.startswith("/home/overview/low-stock/") for url in seen)


def test_crawl_reaches_admin_for_back_office(client, day):
    client.force_login(day.back_office)

    _broken, seen = crawl(client)

    assert "/admin/" in seen
    assert "/admin/inventory/transfer/" in seen


def test_crawl_reports_missing_page(client, day):
    client.force_login(day.staff)

    broken, _seen = crawl(client, start="/home/no-such-page/")

    assert broken == [Broken("/home/no-such-page/", 404, "(start)")]


def test_same_site_url_keeps_portal_paths_only():
    assert same_site_url("/home/", "https://example.com/x") is None
    assert same_site_url("/home/", "mailto:ops@example.com") is None
    assert same_site_url("/home/", "/accounts/logout/") is None
    assert same_site_url("/home/", "overview/sold/?store=1#top") == "/home/overview/sold/?store=1"
