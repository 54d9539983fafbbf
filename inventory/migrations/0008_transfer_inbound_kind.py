"""Relabel the destination's inbound ledger rows of sent transfers as transfer in.

Sending a transfer wrote the receiving store's inbound row with the kind transfer out.
Only those rows have that kind in the inbound bucket: the source's rows change on-hand.
The quantities, values and causes stay as they are.
"""

from django.db import migrations


def inbound_rows_relabel(apps, schema_editor):
    StockMovement = apps.get_model("inventory", "StockMovement")
    StockMovement.objects.filter(kind="transfer_out", bucket="inbound").update(kind="transfer_in")


def inbound_rows_label_back(apps, schema_editor):
    StockMovement = apps.get_model("inventory", "StockMovement")
    StockMovement.objects.filter(
        kind="transfer_in", bucket="inbound", quantity__gt=0
    ).update(kind="transfer_out")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0007_drop_redundant_movement_store_index")]

    operations = [migrations.RunPython(inbound_rows_relabel, inbound_rows_label_back)]
