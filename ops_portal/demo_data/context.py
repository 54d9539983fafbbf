"""State shared by the demo data steps: the scale, the date, and the rows made so far."""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from ops_portal.demo_data.scales import HISTORY_DAYS, DemoScale
from ops_portal.imei import imei_with_check_digit

if TYPE_CHECKING:
    from ops_portal.demo_data.prices import PriceBook

_BASE36_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class DemoStore:
    position: int
    id: int
    code: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class DemoProduct:
    position: int
    id: int
    sku: str
    category: str
    is_serialized: bool
    # Cellular devices carry an IMEI, and Wi-Fi tablets an alphanumeric serial.
    has_imei: bool
    standard_price: Decimal
    low_stock_threshold: int


class SerialNumbers:
    """Issue unique serials per product, the same ones in the same order on every run."""

    def __init__(self) -> None:
        self._issued: dict[int, int] = {}

    def next_for(self, product: DemoProduct) -> str:
        count = self._issued.get(product.position, 0)
        if count >= 1_000_000:
            raise ValueError(f"SKU {product.sku} has used up its 1,000,000 demo serials.")
        self._issued[product.position] = count + 1
        if product.has_imei:
            # An IMEI is an 8-digit type allocation code (one per product here), a 6-digit
            # unit number and the Luhn check digit.
            type_code = 35_000_000 + product.position
            return imei_with_check_digit(f"{type_code:08d}{count:06d}")
        return "DX" + _base36(product.position * 1_000_000 + count).rjust(9, "0")


def _base36(number: int) -> str:
    digits = []
    while True:
        number, remainder = divmod(number, 36)
        digits.append(_BASE36_DIGITS[remainder])
        if number == 0:
            return "".join(reversed(digits))


@dataclass
class DemoContext:
    """The state passed from one demo data step to the next."""

    scale: DemoScale
    today: datetime.date
    now: datetime.datetime
    stores: list[DemoStore] = field(default_factory=list)
    products: list[DemoProduct] = field(default_factory=list)
    # Per store position, the positions of the products the store carries.
    serialized_stocked: list[list[int]] = field(default_factory=list)
    plain_stocked: list[list[int]] = field(default_factory=list)
    serials: SerialNumbers = field(default_factory=SerialNumbers)
    # Set by the price lists step. The sales step prices its lines with it.
    price_book: "PriceBook | None" = None
    # Sales total per (store position, business date) and payment method, which the
    # settlements are reconciled against.
    sales_by_day: dict[tuple[int, datetime.date], dict[str, Decimal]] = field(
        default_factory=dict
    )

    def rng(self, step: str) -> random.Random:
        """Return a random generator of its own for one step, seeded by scale and step.

        random.seed() turns a string into an int with SHA-512, not hash(), so the numbers
        are the same in every process (CPython 3.12, random.py). A generator per step
        keeps a change in one step out of the others.
        """
        return random.Random(f"seed_demo:{self.scale.name}:{step}")

    @property
    def active_stores(self) -> list[DemoStore]:
        return [store for store in self.stores if store.is_active]

    @property
    def history_dates(self) -> list[datetime.date]:
        """The business dates with sales, oldest first, ending with today."""
        return [
            self.today - datetime.timedelta(days=offset)
            for offset in range(HISTORY_DAYS - 1, -1, -1)
        ]
