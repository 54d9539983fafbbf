"""CSV templates of the import kinds: their header, download and import."""

import csv
import io

import pytest
from django.test import Client

from imports.columns import KIND_FIELDS, columns_match
from imports.models import ImportStatus
from imports.tests.helpers import import_run
from inventory.models import StockLevel
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user, staff_user

pytestmark = pytest.mark.django_db


def _header(response) -> list[str]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return next(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("kind", list(KIND_FIELDS))
def test_template_lists_fields_required_first(client, kind):
    client.force_login(staff_user(StoreFactory()))

    response = client.get(f"/api/imports/templates/{kind}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{kind}-template.csv"'
    specs = KIND_FIELDS[kind]
    assert _header(response) == [spec.name for spec in specs]
    required = [spec.required for spec in specs]
    assert required == sorted(required, reverse=True)


@pytest.mark.parametrize("kind", list(KIND_FIELDS))
def test_template_header_matches_every_field(client, kind):
    client.force_login(operations_user())

    header = _header(client.get(f"/api/imports/templates/{kind}"))

    match = columns_match(header, kind)
    assert set(match.indexes) == {spec.name for spec in KIND_FIELDS[kind]}
    assert match.ignored == []
    assert match.notes == []


def test_template_of_unknown_kind_not_found(client):
    client.force_login(operations_user())

    response = client.get("/api/imports/templates/customers")

    assert response.status_code == 404
    assert response.json()["code"] == "kind_unknown"
    assert "'customers' is unknown" in response.json()["message"]


def test_template_rejects_anonymous():
    response = Client().get("/api/imports/templates/stock")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_filled_stock_template_imports(client, tmp_path):
    store = StoreFactory(code="T01")
    product = ProductFactory(sku="CBL-7")
    user = operations_user()
    client.force_login(user)
    template = client.get("/api/imports/templates/stock").content.decode("utf-8")
    path = tmp_path / "count.csv"
    path.write_text(template + "T01,CBL-7,,12,,,\r\n", encoding="utf-8")

    job = import_run(path, kind="stock", user=user)

    assert job.status == ImportStatus.DONE
    assert job.rows_ok == 1
    assert job.rows_bad == 0
    assert StockLevel.objects.get(store=store, product=product).on_hand == 12
