"""Drop the ledger's single-column store index, which movement_store_created_idx makes redundant.

On MySQL and MariaDB, 0006 replaced movement_store_created_idx, and Django created an
index on store_id alone first, because InnoDB keeps an index for each foreign key. The
new movement_store_created_idx starts with store_id and serves the foreign key as well,
so the single-column index only slows every ledger insert. Other databases have no such
index.
"""

from django.db import migrations

LEDGER_TABLE = "inventory_stockmovement"


def store_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT INDEX_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
            "GROUP BY INDEX_NAME HAVING COUNT(*) = 1 AND MAX(COLUMN_NAME) = 'store_id'",
            [LEDGER_TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(LEDGER_TABLE)} "
            f"DROP INDEX {schema_editor.quote_name(name)}"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0006_movement_store_index_covers_kind"),
    ]

    # The reverse keeps the table as it is: movement_store_created_idx serves the
    # foreign key, and 0006's reverse creates what it needs.
    operations = [
        migrations.RunPython(store_index_drop, migrations.RunPython.noop, atomic=False, elidable=True),
    ]
