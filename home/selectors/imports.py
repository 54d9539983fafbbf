"""Reads that feed the imports section of Home."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from imports.events import import_event_payload
from imports.models import ImportJob, ImportKind
from imports.selectors import import_job_list_for_user
from imports.services import ALL_STORE_KINDS
from inventory.access import user_sees_all_stores

# Jobs the widget lists; older jobs stay reachable through GET /api/imports.
RECENT_IMPORTS_LIMIT = 10


def import_rows_for_user(
    *, user: AbstractBaseUser | AnonymousUser, limit: int = RECENT_IMPORTS_LIMIT
) -> list[tuple[ImportJob, dict]]:
    """Return the user's most recent visible jobs, newest first, each with its event payload."""
    jobs = import_job_list_for_user(user=user, limit=limit)
    return [(job, import_event_payload(job=job)) for job in jobs]


def import_kinds_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[tuple[str, str]]:
    """Return the (value, label) pairs of the import kinds the user may start."""
    sees_all = user_sees_all_stores(user)
    return [
        (value, label)
        for value, label in ImportKind.choices
        if sees_all or value not in ALL_STORE_KINDS
    ]
