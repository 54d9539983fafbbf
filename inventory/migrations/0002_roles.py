"""Create the three role groups with the model permissions each role needs in the admin."""

from django.db import migrations

STORE_STAFF = "Store staff"
BACK_OFFICE = "Back office"
OPERATIONS = "Operations"

# (app label, model) pairs each group may view, and those it may also change.
BACK_OFFICE_CHANGE = [
    ("inventory", "store"), ("inventory", "storemembership"), ("inventory", "product"),
    ("inventory", "serialunit"), ("inventory", "stocklevel"), ("inventory", "transfer"),
    ("inventory", "transferline"), ("inventory", "sale"), ("inventory", "saleline"),
    ("inventory", "pricelist"), ("inventory", "pricelistentry"),
    ("settlements", "settlement"), ("settlements", "settlementline"),
    ("auth", "user"),
]
READ_ONLY = [("inventory", "stockmovement")]


def roles_create(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permissions(pairs, actions):
        found = []
        for app_label, model in pairs:
            for action in actions:
                found.extend(
                    Permission.objects.filter(
                        content_type__app_label=app_label, codename=f"{action}_{model}"
                    )
                )
        return found

    Group.objects.get_or_create(name=STORE_STAFF)
    back_office, _ = Group.objects.get_or_create(name=BACK_OFFICE)
    back_office.permissions.add(
        *permissions(BACK_OFFICE_CHANGE, ["view", "add", "change"]),
        *permissions(READ_ONLY, ["view"]),
    )
    operations, _ = Group.objects.get_or_create(name=OPERATIONS)
    operations.permissions.add(*permissions(BACK_OFFICE_CHANGE + READ_ONLY, ["view"]))


def roles_delete(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[STORE_STAFF, BACK_OFFICE, OPERATIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
        ("settlements", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_create, roles_delete)]
