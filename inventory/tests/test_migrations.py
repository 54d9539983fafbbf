"""Data migrations of the inventory app, run forward from the migration before them."""

import pytest

from inventory.tests.migration_steps import latest_migration, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("inventory", "0007_drop_redundant_movement_store_index")
AFTER = ("inventory", "0008_transfer_inbound_kind")


def test_sent_transfer_inbound_rows_become_transfer_in():
    apps = migrate_to(BEFORE)
    Store = apps.get_model("inventory", "Store")
    Product = apps.get_model("inventory", "Product")
    StockMovement = apps.get_model("inventory", "StockMovement")
    source = Store.objects.create(code="S001", name="One")
    destination = Store.objects.create(code="S002", name="Two")
    product = Product.objects.create(sku="ACC-1", name="Cable")
    leaving = {"product": product, "quantity": -2, "before": 2, "after": 0}
    arriving = {"product": product, "quantity": 2, "before": 0, "after": 2}
    sent_out = StockMovement.objects.create(store=source, kind="transfer_out", bucket="on_hand",
                                            **leaving)
    sent_in = StockMovement.objects.create(store=destination, kind="transfer_out", bucket="inbound",
                                           **arriving)
    received = StockMovement.objects.create(store=destination, kind="transfer_in", bucket="inbound",
                                            **leaving)

    try:
        apps = migrate_to(AFTER)
        kinds = dict(apps.get_model("inventory", "StockMovement").objects.values_list("pk", "kind"))
    finally:
        migrate_to(latest_migration("inventory"))

    assert kinds[sent_out.pk] == "transfer_out"
    assert kinds[sent_in.pk] == "transfer_in"
    assert kinds[received.pk] == "transfer_in"
