"""Home while a backing service fails: the cache (Redis) down."""

import datetime

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from home.selectors.overview import overview_kpis_for_store
from inventory.tests.factories import StoreFactory, staff_user, stocked_product

pytestmark = pytest.mark.django_db


def _cache_down(*args, **kwargs):
    raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_overview_reads_stock_when_cache_is_down(monkeypatch):
    store = StoreFactory()
    stocked_product(store, on_hand=7)
    monkeypatch.setattr(cache, "get", _cache_down)
    monkeypatch.setattr(cache, "set", _cache_down)

    kpis = overview_kpis_for_store(store=store, business_date=datetime.date.today())

    assert kpis.on_hand == 7


def test_home_page_answers_when_cache_is_down(client, monkeypatch):
    store = StoreFactory()
    stocked_product(store, on_hand=7)
    client.force_login(staff_user(store))
    monkeypatch.setattr(cache, "get", _cache_down)
    monkeypatch.setattr(cache, "set", _cache_down)

    response = client.get("/home/")

    assert response.status_code == 200
    assert b"Traceback" not in response.content
