"""The demo accounts, created or reset to their public password, role and stores."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from inventory.models import Store, StoreMembership
from inventory.roles import ALL_ROLES, BACK_OFFICE, OPERATIONS, STORE_STAFF
from ops_portal.demo import DEMO_ACCOUNTS
from ops_portal.demo_data.errors import DemoDataError

# Back office and operations work in the Django admin, so their accounts are staff.
ADMIN_ROLES = (BACK_OFFICE, OPERATIONS)


def demo_accounts_ensure(*, member_stores: list[Store]) -> None:
    """Create each demo account or reset it: password, active, staff flag, group, stores.

    The store staff account becomes a member of ``member_stores``. Groups and memberships
    are only added, so extra ones given by hand stay.
    """
    groups = {group.name: group for group in Group.objects.filter(name__in=ALL_ROLES)}
    missing = sorted({account.role for account in DEMO_ACCOUNTS} - set(groups))
    if missing:
        raise DemoDataError(
            f"The role groups {', '.join(missing)} are missing. "
            "Run `manage.py migrate`, which creates them."
        )

    user_model = get_user_model()
    with transaction.atomic():
        for account in DEMO_ACCOUNTS:
            user, _ = user_model.objects.get_or_create(
                username=account.username,
                defaults={"email": f"{account.username}@example.com"},
            )
            user.set_password(account.password)
            user.is_active = True
            user.is_staff = account.role in ADMIN_ROLES
            user.save()
            user.groups.add(groups[account.role])
            if account.role == STORE_STAFF:
                for store in member_stores:
                    StoreMembership.objects.get_or_create(user=user, store=store)
