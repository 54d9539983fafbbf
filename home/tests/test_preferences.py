import threading

import pytest
from django.db import connection

from home.models import HomePreference
from home.services import home_preference_store_set
from inventory.tests.factories import StoreFactory, staff_user

THREADS = 4


@pytest.mark.django_db
def test_preference_set_updates_existing_row():
    first, second = StoreFactory(), StoreFactory()
    user = staff_user(first, second)

    home_preference_store_set(user=user, store=first)
    home_preference_store_set(user=user, store=second)

    assert HomePreference.objects.filter(user=user).count() == 1
    assert HomePreference.objects.get(user=user).store == second


@pytest.mark.django_db(transaction=True)
def test_preference_set_concurrent_changes_keep_one_row(mysql_only):
    stores = [StoreFactory() for _ in range(THREADS)]
    user = staff_user(*stores)
    barrier = threading.Barrier(THREADS, timeout=10)
    errors: list[Exception] = []

    def choose(store):
        try:
            barrier.wait()
            home_preference_store_set(user=user, store=store)
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=choose, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert HomePreference.objects.filter(user=user).count() == 1
    assert HomePreference.objects.get(user=user).store in stores
