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
        # migrate and flush send post_migrate once per app, and auth creates each app's
        # permissions on that app's signal; syncing on every one picks up the permissions
        # of apps listed after inventory too.
        post_migrate.connect(_roles_sync_after_migrate, dispatch_uid="inventory.roles_sync")
