import pytest

from inventory.models import Sale, SerialStatus, StockLevel, StockMovement, Transfer, TransferStatus
from inventory.tests.factories import (
    StoreFactory,
    back_office_user,
    staff_user,
    stocked_product,
    stocked_unit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(code="N01")


@pytest.fixture
def other_store():
    return StoreFactory(code="S02")


def test_transfer_create_returns_201_with_lines(client, store, other_store):
    product = stocked_product(store, on_hand=5, sku="CBL-1")
    unit = stocked_unit(store)
    client.force_login(staff_user(store))

    response = client.post("/api/transfers", {
        "from_store": store.pk, "to_store": other_store.pk, "notes": "Restock",
        "lines": [{"sku": "CBL-1", "quantity": 2}, {"serial": unit.serial}],
    }, content_type="application/json")

    body = response.json()
    transfer = Transfer.objects.get()
    assert response.status_code == 201
    assert body["id"] == transfer.pk
    assert body["status"] == "in_transit"
    assert body["url"] == f"/home/transfers/{transfer.pk}/"
    assert body["lines"] == [
        {"sku": "CBL-1", "serial": None, "quantity": 2},
        {"sku": unit.product.sku, "serial": unit.serial, "quantity": 1},
    ]
    assert StockLevel.objects.get(store=store, product=product).on_hand == 3


def test_transfer_create_from_other_store_is_rejected(client, store, other_store):
    stocked_product(other_store, sku="CBL-1")
    client.force_login(staff_user(store))

    response = client.post("/api/transfers", {
        "from_store": other_store.pk, "to_store": store.pk, "lines": [{"sku": "CBL-1"}],
    }, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "store_not_found"
    assert Transfer.objects.count() == 0


def test_transfer_create_to_closed_store_is_rejected(client, store):
    closed = StoreFactory(code="X09", is_active=False)
    stocked_product(store, sku="CBL-1")
    client.force_login(staff_user(store))

    response = client.post("/api/transfers", {
        "from_store": store.pk, "to_store": closed.pk, "lines": [{"sku": "CBL-1"}],
    }, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["field_errors"] == {
        "to_store": [f"Unknown or closed store {closed.pk}."]
    }
    assert Transfer.objects.count() == 0


def test_transfer_create_lists_every_failing_line(client, store, other_store):
    stocked_product(store, on_hand=1, sku="CBL-1")
    client.force_login(staff_user(store))

    response = client.post("/api/transfers", {
        "from_store": store.pk, "to_store": other_store.pk,
        "lines": [{"sku": "NOPE-9"}, {"sku": "CBL-1", "quantity": 5}],
    }, content_type="application/json")

    codes = [problem["code"] for problem in response.json()["problems"]]
    assert response.status_code == 400
    assert codes == ["unknown_sku", "insufficient_stock"]
    assert StockMovement.objects.count() == 0


def test_transfer_detail_and_receive(client, store, other_store):
    stocked_product(store, on_hand=5, sku="CBL-1")
    client.force_login(back_office_user())
    created = client.post("/api/transfers", {
        "from_store": store.pk, "to_store": other_store.pk, "lines": [{"sku": "CBL-1"}],
    }, content_type="application/json").json()

    detail = client.get(f"/api/transfers/{created['id']}")
    received = client.post(f"/api/transfers/{created['id']}/receive")

    assert detail.json()["status"] == "in_transit"
    assert received.status_code == 200
    assert received.json()["status"] == "received"
    assert Transfer.objects.get().status == TransferStatus.RECEIVED


def test_transfer_detail_of_other_stores_is_404(client, store, other_store):
    stocked_product(store, sku="CBL-1")
    client.force_login(back_office_user())
    created = client.post("/api/transfers", {
        "from_store": store.pk, "to_store": other_store.pk, "lines": [{"sku": "CBL-1"}],
    }, content_type="application/json").json()
    client.force_login(staff_user(StoreFactory(code="E03")))

    response = client.get(f"/api/transfers/{created['id']}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_sale_create_records_serial_and_sku(client, store):
    stocked_product(store, on_hand=5, price="10.00", sku="CBL-1")
    unit = stocked_unit(store, price="500.00")
    client.force_login(staff_user(store))

    response = client.post("/api/sales", {
        "store": store.pk, "payment_method": "card",
        "lines": [{"serial": unit.serial}, {"sku": "CBL-1", "quantity": 2, "discount": "1.50"}],
    }, content_type="application/json")

    body = response.json()
    unit.refresh_from_db()
    assert response.status_code == 201
    assert body["total"] == "518.50"
    assert body["url"] == f"/home/sales/{body['id']}/"
    assert [line["line_total"] for line in body["lines"]] == ["500.00", "18.50"]
    assert unit.status == SerialStatus.SOLD


def test_sale_create_with_bad_payment_method_saves_nothing(client, store):
    stocked_product(store, sku="CBL-1")
    client.force_login(staff_user(store))

    response = client.post("/api/sales", {
        "store": store.pk, "payment_method": "gold", "lines": [{"sku": "CBL-1"}],
    }, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payment_method"
    assert Sale.objects.count() == 0


def test_sale_create_at_other_store_is_rejected(client, store, other_store):
    stocked_product(other_store, sku="CBL-1")
    client.force_login(staff_user(store))

    response = client.post("/api/sales", {
        "store": other_store.pk, "payment_method": "cash", "lines": [{"sku": "CBL-1"}],
    }, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "store_not_found"
    assert Sale.objects.count() == 0


def test_sale_detail_hidden_from_other_stores(client, store, other_store):
    stocked_product(store, sku="CBL-1")
    client.force_login(staff_user(store))
    created = client.post("/api/sales", {
        "store": store.pk, "payment_method": "cash", "lines": [{"sku": "CBL-1"}],
    }, content_type="application/json").json()
    own = client.get(f"/api/sales/{created['id']}")
    client.force_login(staff_user(other_store))

    response = client.get(f"/api/sales/{created['id']}")

    assert own.status_code == 200
    assert response.status_code == 404


def test_sale_create_requires_login(client, store):
    response = client.post("/api/sales", {
        "store": store.pk, "payment_method": "cash", "lines": [],
    }, content_type="application/json")

    assert response.status_code == 401
