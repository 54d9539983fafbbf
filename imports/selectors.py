"""Reads of import jobs, scoped to what the user may see."""

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from imports.models import ImportJob
from inventory.access import store_ids_for_user
from ops_portal.errors import NotFoundError


def import_jobs_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[ImportJob]:
    """Return the jobs the user may see.

    Back office and operations see every job. Store staff see the jobs they started and
    the jobs whose file names only stores they are members of.
    """
    if not user.is_authenticated:
        return ImportJob.objects.none()
    store_ids = store_ids_for_user(user)
    if store_ids is None:
        return ImportJob.objects.all()
    through = ImportJob.stores.through
    foreign_store = through.objects.filter(importjob_id=OuterRef("pk")).exclude(
        store_id__in=store_ids
    )
    any_store = through.objects.filter(importjob_id=OuterRef("pk"))
    return ImportJob.objects.filter(
        Q(created_by=user) | (Exists(any_store) & ~Exists(foreign_store))
    )


def import_job_list_for_user(
    *, user: AbstractBaseUser | AnonymousUser, limit: int = 20
) -> list[ImportJob]:
    """Return the user's most recent jobs, newest first."""
    return list(
        import_jobs_for_user(user=user).select_related("created_by").order_by("-created_at", "-id")[:limit]
    )


def import_job_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, task_id: uuid.UUID | str
) -> ImportJob:
    """Fetch a job by its task id on behalf of the user; jobs they may not see are not found."""
    try:
        return import_jobs_for_user(user=user).get(task_id=task_id)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(
            f"Import {task_id} was not found among the imports you may see.",
            code="import_not_found",
        ) from None
