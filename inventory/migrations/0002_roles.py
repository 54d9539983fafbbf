"""Create the three role groups with the admin permissions of each role."""

from django.db import migrations

from inventory.roles import ALL_ROLES, roles_sync


def roles_create(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the whole migrate run; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


def roles_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ALL_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
        ("settlements", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_create, roles_delete)]
