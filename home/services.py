"""Writes of the Home app: the preferences it remembers per user."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from home.models import HomePreference
from inventory.models import Store


def home_preference_store_set(*, user: AbstractBaseUser, store: Store) -> None:
    """Remember the store the user chose on Home.

    The caller has checked the user's right to the store (store_get_for_user). One upsert
    statement (INSERT ... ON DUPLICATE KEY UPDATE on MySQL, ON CONFLICT on SQLite) writes
    the row, so concurrent store changes of one user end with one row and the last choice.
    update_or_create would lock a missing row's gap on MySQL first, and two such requests
    deadlock.
    """
    # MySQL's upsert takes no conflict target: the primary key (the user) is the only key.
    target = (
        {"unique_fields": ["user"]}
        if connection.features.supports_update_conflicts_with_target
        else {}
    )
    HomePreference.objects.bulk_create(
        [HomePreference(user=user, store=store)],
        update_conflicts=True,
        update_fields=["store", "updated_at"],
        **target,
    )
