"""Ninja schemas of the inventory API."""

import datetime
from decimal import Decimal

from ninja import Schema


class StoreOut(Schema):
    id: int
    code: str
    name: str


class LineIn(Schema):
    """One line: a serial, or a SKU (or barcode) with a quantity."""

    sku: str = ""
    serial: str = ""
    quantity: int = 1


class TransferIn(Schema):
    from_store: int
    to_store: int
    lines: list[LineIn]
    notes: str = ""


class TransferLineOut(Schema):
    sku: str
    serial: str | None
    quantity: int


class TransferOut(Schema):
    id: int
    from_store: str
    to_store: str
    status: str
    notes: str
    created_by: str | None
    created_at: datetime.datetime
    received_at: datetime.datetime | None
    lines: list[TransferLineOut]
    url: str


class SaleLineIn(LineIn):
    discount: Decimal = Decimal("0")


class SaleIn(Schema):
    store: int
    payment_method: str
    lines: list[SaleLineIn]


class SaleLineOut(Schema):
    sku: str
    serial: str | None
    quantity: int
    unit_price: Decimal
    discount: Decimal
    line_total: Decimal


class SaleOut(Schema):
    id: int
    store: str
    sold_at: datetime.datetime
    payment_method: str
    total: Decimal
    lines: list[SaleLineOut]
    url: str
