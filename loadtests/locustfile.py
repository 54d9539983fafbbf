"""Store staff at work on Home while operations load a 100k-row stock count.

Run through `make loadtest` (loadtests/run.py), which prepares the accounts and the file
and passes them in LOADTEST_PLAN and LOADTEST_IMPORT_FILES. Every request is also written
to LOADTEST_SAMPLES (one JSON line each), so the report can split the run into the window
before the import and the window during it.

Request names are the endpoints, with their variable parts left out, so Locust's own
statistics and the report give one line per endpoint.
"""

import json
import os
import random
import re
import time
from datetime import date
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.exception import StopUser

PLAN = json.loads(Path(os.environ["LOADTEST_PLAN"]).read_text())
# Two counts of the same pairs with different quantities, imported one after the other,
# so that every import changes stock and the window under import is long enough for a p95.
IMPORT_FILES = [Path(path) for path in os.environ["LOADTEST_IMPORT_FILES"].split(os.pathsep)]
IMPORT_COUNT = int(os.environ.get("LOADTEST_IMPORT_COUNT", "8"))
IMPORT_AFTER_SECONDS = float(os.environ.get("LOADTEST_IMPORT_AFTER", "90"))
IMPORT_TIMEOUT_SECONDS = float(os.environ.get("LOADTEST_IMPORT_TIMEOUT", "300"))
SAMPLES_PATH = Path(os.environ["LOADTEST_SAMPLES"])
TIMELINE_PATH = Path(os.environ["LOADTEST_TIMELINE"])
IMPORT_PREFIX = "import: "
OVERVIEW_PANELS = ("on-hand", "inbound", "sold", "low-stock")
CSRF_PATTERN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

_samples = None
_accounts = iter(PLAN["users"])


@events.test_start.add_listener
def _samples_open(environment, **kwargs) -> None:
    global _samples
    _samples = SAMPLES_PATH.open("w", buffering=1)


@events.request.add_listener
def _sample_write(request_type, name, response_time, response_length, exception, **kwargs):
    if _samples is None:
        return
    record = {"t": time.time(), "name": f"{request_type} {name}", "ms": response_time,
              "ok": exception is None}
    _samples.write(json.dumps(record) + "\n")


@events.test_stop.add_listener
def _samples_close(environment, **kwargs) -> None:
    if _samples is not None:
        _samples.close()


def _timeline_mark(event: str, **details) -> None:
    with TIMELINE_PATH.open("a") as timeline:
        timeline.write(json.dumps({"event": event, "t": time.time(), **details}) + "\n")


class StoreStaff(HttpUser):
    """A clerk on Home: looks things up, sells, moves stock and cashes up at its own stores."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        try:
            self.account = next(_accounts)
        except StopIteration:
            raise StopUser() from None
        self.stores = self.account["stores"]
        self.serials = list(self.stores[0]["serials"])
        self._log_in(self.account["username"], PLAN["password"])

    def _log_in(self, username: str, password: str) -> None:
        page = self.client.get("/accounts/login/", name="/accounts/login/")
        token = CSRF_PATTERN.search(page.text).group(1)
        self.client.post(
            "/accounts/login/", name="/accounts/login/ [POST]",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token,
                  "next": "/home/"},
        )
        self.csrf = self.client.cookies.get("csrftoken", "")

    def _store(self) -> dict:
        return random.choice(self.stores)

    def _headers(self) -> dict:
        return {"X-CSRFToken": self.csrf, "HX-Request": "true", "Referer": self.host + "/home/"}

    @task(3)
    def home(self) -> None:
        self.client.get("/home/", name="/home/")

    @task(1)
    def store_switch(self) -> None:
        self.client.post("/home/store/", name="/home/store/",
                         data={"store": self._store()["id"], "next": "/home/"},
                         headers={"X-CSRFToken": self.csrf, "Referer": self.host + "/home/"},
                         allow_redirects=False)

    @task(2)
    def overview_drill_down(self) -> None:
        panel = random.choice(OVERVIEW_PANELS)
        self.client.get(f"/home/overview/{panel}/?store={self._store()['id']}",
                        name=f"/home/overview/{panel}/", headers=self._headers())

    @task(3)
    def kpis(self) -> None:
        store = self._store()["id"]
        self.client.get(f"/api/home/overview?store={store}", name="/api/home/overview")

    @task(2)
    def analytics(self) -> None:
        store = self._store()["id"]
        today = date.today().isoformat()
        for series in ("sales-by-hour", "sales-trend", "stock-movements", "settlement-vs-sales"):
            self.client.get(f"/api/home/analytics/{series}?store={store}&date={today}",
                            name=f"/api/home/analytics/{series}")

    @task(2)
    def imports_widget(self) -> None:
        self.client.get("/home/imports/", name="/home/imports/", headers=self._headers())

    @task(2)
    def import_status(self) -> None:
        self.client.get("/api/imports", name="/api/imports")

    @task(2)
    def find_price(self) -> None:
        store = self._store()
        sku = random.choice(store["plain_skus"])
        self.client.get(f"/api/home/price?q={sku}&store={store['id']}", name="/api/home/price")

    @task(2)
    def find_price_on_home(self) -> None:
        sku = random.choice(self._store()["plain_skus"])
        self.client.get(f"/home/actions/price/?q={sku}", name="/home/actions/price/",
                        headers=self._headers())

    @task(2)
    def find_stock(self) -> None:
        store = self._store()
        query = random.choice(store["plain_skus"] + self.serials[:20])
        self.client.get(f"/api/home/stock?q={query}&store={store['id']}", name="/api/home/stock")

    @task(2)
    def find_stock_on_home(self) -> None:
        query = random.choice(self._store()["plain_skus"] + self.serials[:20])
        self.client.get(f"/home/actions/stock/?q={query}", name="/home/actions/stock/",
                        headers=self._headers())

    @task(2)
    def quick_sale(self) -> None:
        store = self.stores[0]
        if self.serials and random.random() < 0.5:
            item, quantity = self.serials.pop(), 1
        else:
            item, quantity = random.choice(store["plain_skus"]), 1
        self.client.post(
            "/home/actions/sale/", name="/home/actions/sale/", headers=self._headers(),
            data={"store": store["id"], "item": item, "quantity": quantity,
                  "payment_method": "card", "discount": "0"},
        )

    @task(1)
    def new_transfer(self) -> None:
        source, destination = self.stores[0], self.stores[1]
        self.client.post(
            "/home/actions/transfer/", name="/home/actions/transfer/", headers=self._headers(),
            data={"from_store": source["id"], "to_store": destination["id"],
                  "item": random.choice(source["plain_skus"]), "quantity": 1,
                  "notes": "Load test"},
        )

    @task(1)
    def record_settlement(self) -> None:
        store = self._store()
        self.client.post(
            "/home/actions/settlement/", name="/home/actions/settlement/",
            headers=self._headers(),
            data={"store": store["id"], "business_date": date.today().isoformat(),
                  "cash": f"{random.randint(100, 900)}.00",
                  "card": f"{random.randint(100, 900)}.00", "notes": ""},
        )


class Operations(HttpUser):
    """Uploads stock counts once the clerks' load is steady, one after the other."""

    fixed_count = 1
    wait_time = between(1, 1)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {PLAN['operations']['token']}"
        self.done = False

    @task
    def imports_run(self) -> None:
        if self.done:
            time.sleep(1)
            return
        time.sleep(IMPORT_AFTER_SECONDS)
        _timeline_mark("import_posted")
        for number in range(IMPORT_COUNT):
            if not self._import_one(IMPORT_FILES[number % len(IMPORT_FILES)], number):
                break
        self.done = True

    def _import_one(self, path: Path, number: int) -> bool:
        _timeline_mark("import_started", file=path.name)
        with path.open("rb") as upload:
            response = self.client.post(
                "/api/imports", name=IMPORT_PREFIX + "/api/imports",
                data={"kind": "stock"}, files={"file": (path.name, upload, "text/csv")},
                headers={"Idempotency-Key": f"loadtest-{int(time.time())}-{number}"},
            )
        if response.status_code != 202:
            _timeline_mark("import_refused", status=response.status_code, body=response.text[:500])
            return False
        return self._follow(response.json()["status_url"])

    def _follow(self, status_url: str) -> bool:
        deadline = time.monotonic() + IMPORT_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            job = self.client.get(status_url, name=IMPORT_PREFIX + "/api/imports/{id}").json()
            if job["status"] in ("done", "failed", "cancelled"):
                _timeline_mark("import_finished", status=job["status"], rows_ok=job["rows_ok"],
                               rows_bad=job["rows_bad"], phase_timings=job.get("phase_timings"))
                return job["status"] == "done"
            time.sleep(0.5)
        _timeline_mark("import_timed_out")
        return False
