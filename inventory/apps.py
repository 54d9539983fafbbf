from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_sync_after_migrate(sender, apps=None, **kwargs) -> None:
    from django.apps import apps as global_apps

    from inventory.roles import roles_sync

    # migrate passes the migration state's apps; flush passes none.
    roles_sync(apps or global_apps)


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        # Runs once per migrate or flush; after auth's own handler has created permissions,
        # because auth is listed before inventory in INSTALLED_APPS.
        post_migrate.connect(_roles_sync_after_migrate, sender=self)
