"""Reads that feed the imports section of Home."""

from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse

from imports.columns import KIND_FIELDS
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


# Kinds whose store column may be left out when the upload names a default store.
DEFAULT_STORE_KINDS = (ImportKind.STOCK, ImportKind.SALES)


class ImportKindChoice(NamedTuple):
    """An import kind of the upload form, with its columns and its template's URL."""

    value: str
    label: str
    required: list[str]
    optional: list[str]
    store_optional: bool
    template_url: str


def import_kinds_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[ImportKindChoice]:
    """Return the import kinds the user may start, in the order of ImportKind."""
    sees_all = user_sees_all_stores(user)
    return [
        ImportKindChoice(
            value=value,
            label=label,
            required=[spec.name for spec in KIND_FIELDS[value] if spec.required],
            optional=[spec.name for spec in KIND_FIELDS[value] if not spec.required],
            store_optional=value in DEFAULT_STORE_KINDS,
            template_url=reverse("api:import-template", kwargs={"kind": value}),
        )
        for value, label in ImportKind.choices
        if sees_all or value not in ALL_STORE_KINDS
    ]
