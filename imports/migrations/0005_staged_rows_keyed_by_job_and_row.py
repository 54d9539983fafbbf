"""Key each staging table by (job, row number) in place of an id and a unique index.

Django's schema editor cannot change a table's primary key to a composite one, so each
table is built again: the old table is renamed, the new one created, the rows copied and
the old table dropped. Staged rows of running jobs are kept.
"""

from django.db import migrations, models


def _table_rebuild(schema_editor, source, target) -> None:
    """Move the rows of ``source``'s table into a new table made for ``target``."""
    table = source._meta.db_table
    old_table = f"{table}_before_rebuild"
    # SQLite names indexes per database, so the new table's indexes need the names free.
    for index in source._meta.indexes:
        schema_editor.remove_index(source, index)
    schema_editor.alter_db_table(source, table, old_table)
    schema_editor.create_model(target)

    source_columns = {field.column for field in source._meta.local_concrete_fields}
    columns = [
        field.column for field in target._meta.local_concrete_fields
        if field.column in source_columns and not field.primary_key
    ]
    quote = schema_editor.quote_name
    listed = ", ".join(quote(column) for column in columns)
    schema_editor.execute(
        f"INSERT INTO {quote(table)} ({listed}) SELECT {listed} FROM {quote(old_table)}"
    )
    schema_editor.execute(schema_editor.sql_delete_table % {"table": quote(old_table)})


class KeyByJobAndRow(migrations.operations.base.Operation):
    """Replace a staging table's id and its unique (job, row number) constraint by a composite key."""

    reversible = True

    def __init__(self, model_name: str, constraint_name: str) -> None:
        self.model_name = model_name
        self.constraint_name = constraint_name

    def _state_operations(self) -> list:
        return [
            migrations.RemoveConstraint(model_name=self.model_name, name=self.constraint_name),
            migrations.AddField(
                model_name=self.model_name,
                name="pk",
                field=models.CompositePrimaryKey(
                    "job", "row_number", blank=True, editable=False, primary_key=True,
                    serialize=False,
                ),
            ),
            migrations.RemoveField(model_name=self.model_name, name="id"),
        ]

    def state_forwards(self, app_label, state) -> None:
        for operation in self._state_operations():
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        _table_rebuild(
            schema_editor,
            from_state.apps.get_model(app_label, self.model_name),
            to_state.apps.get_model(app_label, self.model_name),
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        _table_rebuild(
            schema_editor,
            from_state.apps.get_model(app_label, self.model_name),
            to_state.apps.get_model(app_label, self.model_name),
        )

    def describe(self) -> str:
        return f"Key {self.model_name} by job and row number"

    def deconstruct(self):
        return (
            self.__class__.__name__, [],
            {"model_name": self.model_name, "constraint_name": self.constraint_name},
        )


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0004_staged_rows_without_job_constraint"),
    ]

    operations = [
        KeyByJobAndRow("stagedprice", "staged_price_row"),
        KeyByJobAndRow("stagedproduct", "staged_product_row"),
        KeyByJobAndRow("stagedsale", "staged_sale_row"),
        KeyByJobAndRow("stagedstock", "staged_stock_row"),
    ]
