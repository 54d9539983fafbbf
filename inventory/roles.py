"""The groups that carry the portal's roles, and the admin permissions each one gets."""

STORE_STAFF = "Store staff"
BACK_OFFICE = "Back office"
OPERATIONS = "Operations"

ALL_ROLES = (STORE_STAFF, BACK_OFFICE, OPERATIONS)

# Members of these groups read and act on every store; store staff only on their own.
ALL_STORE_ROLES = (BACK_OFFICE, OPERATIONS)

# Models back office may view, add and change in the admin; operations may view them.
_EDITABLE_MODELS = [
    ("inventory", "store"), ("inventory", "storemembership"), ("inventory", "product"),
    ("inventory", "serialunit"), ("inventory", "stocklevel"), ("inventory", "transfer"),
    ("inventory", "transferline"), ("inventory", "sale"), ("inventory", "saleline"),
    ("inventory", "pricelist"), ("inventory", "pricelistentry"),
    ("settlements", "settlement"), ("settlements", "settlementline"),
    ("auth", "user"),
]
# Models both roles may only view: the stock ledger is append-only.
_READ_ONLY_MODELS = [("inventory", "stockmovement")]
# Import jobs: both roles may view them and retry or cancel them, which is a change.
_IMPORT_MODELS = [("imports", "importjob"), ("imports", "importrowerror")]


def roles_sync(apps) -> None:
    """Create the role groups if missing and grant their permissions; safe to run again.

    Runs from the data migration that introduces the roles and after every migrate, which
    also recreates the groups after a test flushes the database.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permissions(pairs, actions):
        codenames = {f"{action}_{model}" for _, model in pairs for action in actions}
        labels = {app_label for app_label, _ in pairs}
        return Permission.objects.filter(
            content_type__app_label__in=labels, codename__in=codenames
        )

    Group.objects.get_or_create(name=STORE_STAFF)
    back_office, _ = Group.objects.get_or_create(name=BACK_OFFICE)
    back_office.permissions.add(
        *permissions(_EDITABLE_MODELS, ["view", "add", "change"]),
        *permissions(_READ_ONLY_MODELS, ["view"]),
        *permissions(_IMPORT_MODELS, ["view", "change"]),
    )
    operations, _ = Group.objects.get_or_create(name=OPERATIONS)
    operations.permissions.add(
        *permissions(_EDITABLE_MODELS + _READ_ONLY_MODELS, ["view"]),
        *permissions(_IMPORT_MODELS, ["view", "change"]),
    )
