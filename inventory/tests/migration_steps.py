"""Moving the test database to a migration and back, for tests of data migrations."""

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(target: tuple[str, str]) -> Apps:
    """Migrate the test database to ``target`` (app label, migration name); return its models."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def latest_migration(app_label: str) -> tuple[str, str]:
    """Return the newest migration of the app, to migrate back to after a test."""
    executor = MigrationExecutor(connection)
    return max(node for node in executor.loader.graph.leaf_nodes() if node[0] == app_label)
