"""A store with a day of business, for the overview's tests."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from inventory.models import Product, Store, Transfer
from inventory.services.sales import SaleLineIn, sale_record
from inventory.services.transfers import TransferLineIn, transfer_create
from inventory.tests.factories import (
    ProductFactory,
    SerializedProductFactory,
    StockLevelFactory,
    StoreFactory,
    back_office_user,
    staff_user,
    stocked_product,
    stocked_unit,
)


@dataclass
class StoreDay:
    here: Store
    spare: Store
    sister: Store
    staff: object
    back_office: object
    charger: Product
    case: Product
    cable: Product
    transfer: Transfer


def store_day_build() -> StoreDay:
    """Build store HERE with low stock, an inbound transfer and sales today and yesterday.

    On-hand at HERE: 2 chargers (threshold 5, low), 3 cases (threshold 3, low, no other
    store has any), 36 cables, 0 of a product without a threshold, 2 phones: 43 units.
    Inbound: 5 chargers from SPARE. SPARE then has 25 chargers (20 above threshold), SISTER
    9 (4 above). The staff user is a member of HERE and SISTER only.
    Sales at HERE: 3 cables today (59.97), 1 cable yesterday.
    """
    here = StoreFactory(code="HERE", name="Here Store")
    spare = StoreFactory(code="SPARE", name="Spare Store")
    sister = StoreFactory(code="SISTER", name="Sister Store")
    StoreFactory(code="SHUT", name="Shut Store", is_active=False)
    staff = staff_user(here, sister, username="here-clerk")
    back_office = back_office_user(username="back-office")

    charger = ProductFactory(sku="CHG-1", name="Charger", category="Accessories", low_stock_threshold=5)
    StockLevelFactory(store=here, product=charger, on_hand=2)
    StockLevelFactory(store=spare, product=charger, on_hand=30)
    StockLevelFactory(store=sister, product=charger, on_hand=9)
    case = ProductFactory(sku="CASE-1", name="Case", category="Accessories", low_stock_threshold=3)
    StockLevelFactory(store=here, product=case, on_hand=3)
    cable = stocked_product(
        here, on_hand=40, sku="CBL-1", name="Cable", category="Cables", low_stock_threshold=2
    )
    untracked = ProductFactory(sku="NOTH-1", category="Cables", low_stock_threshold=0)
    StockLevelFactory(store=here, product=untracked, on_hand=0)
    phone = SerializedProductFactory(sku="PHN-1", name="Phone", low_stock_threshold=1)
    stocked_unit(here, product=phone)
    stocked_unit(here, product=phone)

    transfer = transfer_create(
        actor=back_office, from_store=spare, to_store=here,
        lines=[TransferLineIn(sku="CHG-1", quantity=5)],
    )
    sale_record(
        actor=staff, store=here, lines=[SaleLineIn(sku="CBL-1", quantity=3)],
        payment_method="cash",
    )
    yesterday_noon = timezone.make_aware(
        datetime.datetime.combine(
            timezone.localdate() - datetime.timedelta(days=1), datetime.time(12, 0)
        )
    )
    sale_record(
        actor=staff, store=here, lines=[SaleLineIn(sku="CBL-1", quantity=1)],
        payment_method="card", sold_at=yesterday_noon,
    )
    return StoreDay(
        here=here, spare=spare, sister=sister, staff=staff, back_office=back_office,
        charger=charger, case=case, cable=cable, transfer=transfer,
    )
