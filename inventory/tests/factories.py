"""factory_boy factories of the inventory models and the users that act on them."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from inventory.models import (
    PaymentMethod,
    PriceList,
    PriceListEntry,
    Product,
    Sale,
    SerialStatus,
    SerialUnit,
    StockLevel,
    Store,
    StoreMembership,
)
from inventory.roles import BACK_OFFICE, OPERATIONS, STORE_STAFF
from ops_portal.imei import imei_with_check_digit


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("test-password")


def staff_user(*stores: Store, **kwargs) -> "get_user_model()":
    """A store-staff user who is a member of the given stores."""
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=STORE_STAFF))
    for store in stores:
        StoreMembership.objects.create(user=user, store=store)
    return user


def back_office_user(**kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=BACK_OFFICE))
    return user


def operations_user(**kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=OPERATIONS))
    return user


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.LazyAttribute(lambda store: f"Store {store.code}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"ACC-{n:05d}")
    name = factory.LazyAttribute(lambda product: f"Product {product.sku}")
    category = "Accessories"
    low_stock_threshold = 2


class SerializedProductFactory(ProductFactory):
    sku = factory.Sequence(lambda n: f"PHN-{n:05d}")
    category = "Phones"
    is_serialized = True


class SerialUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SerialUnit

    serial = factory.Sequence(lambda n: imei_with_check_digit(f"35678901{n:06d}"))
    product = factory.SubFactory(SerializedProductFactory)
    store = factory.SubFactory(StoreFactory)
    status = SerialStatus.IN_STOCK
    cost = Decimal("400.00")
    received_at = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=3))


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    store = factory.SubFactory(StoreFactory)
    product = factory.SubFactory(ProductFactory)
    on_hand = 10
    inbound = 0


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"Price list {n}")
    source = "ERP"
    priority = 0
    currency = "EUR"
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    valid_to = None


class PriceListEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListEntry

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    price = Decimal("19.99")
    discount_percent = Decimal("0")


class SaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sale

    store = factory.SubFactory(StoreFactory)
    sold_at = factory.LazyFunction(timezone.now)
    payment_method = PaymentMethod.CASH
    total = Decimal("0")


def stocked_product(store: Store, *, on_hand: int = 10, price: str = "19.99", **kwargs) -> Product:
    """A plain product with stock at the store and a valid price in a general list."""
    product = ProductFactory(**kwargs)
    StockLevelFactory(store=store, product=product, on_hand=on_hand)
    PriceListEntryFactory(product=product, price=Decimal(price))
    return product


def stocked_unit(store: Store, *, price: str = "599.00", **kwargs) -> SerialUnit:
    """An in-stock serial unit at the store, its stock level counted, with a valid price."""
    unit = SerialUnitFactory(store=store, **kwargs)
    level, _ = StockLevel.objects.get_or_create(store=store, product=unit.product)
    StockLevel.objects.filter(pk=level.pk).update(on_hand=level.on_hand + 1)
    if not PriceListEntry.objects.filter(product=unit.product).exists():
        PriceListEntryFactory(product=unit.product, price=Decimal(price))
    return unit
