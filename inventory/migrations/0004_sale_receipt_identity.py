"""Identify imported sales by store and receipt number, and their lines by position."""

from django.conf import settings
from django.db import migrations, models


def blank_receipts_to_null(apps, schema_editor):
    # Till sales stored an empty receipt number; NULL keeps them out of the unique key.
    apps.get_model("inventory", "Sale").objects.filter(receipt_number="").update(receipt_number=None)


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0003_price_entry_source'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='sale',
            name='sale_store_receipt_idx',
        ),
        migrations.AddField(
            model_name='saleline',
            name='position',
            field=models.PositiveIntegerField(blank=True, help_text='Place of the line in its receipt, for imported sales.', null=True),
        ),
        migrations.AlterField(
            model_name='sale',
            name='receipt_number',
            field=models.CharField(blank=True, help_text='Receipt or invoice number of imported sales.', max_length=64, null=True),
        ),
        migrations.RunPython(blank_receipts_to_null, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='sale',
            constraint=models.UniqueConstraint(fields=('store', 'receipt_number'), name='sale_store_receipt_unique'),
        ),
        migrations.AddConstraint(
            model_name='saleline',
            constraint=models.UniqueConstraint(fields=('sale', 'position'), name='sale_line_position_unique'),
        ),
    ]
