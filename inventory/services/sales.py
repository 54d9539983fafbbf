"""Sales recorded at the till."""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from inventory.access import store_check_access
from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import (
    MovementKind,
    PaymentMethod,
    Sale,
    SaleLine,
    SerialStatus,
    SerialUnit,
    StockBucket,
    Store,
)
from inventory.selectors import CENT, EffectivePrice, effective_price_get
from inventory.services.lines import (
    LineRequest,
    ResolvedLine,
    lines_resolve,
    stock_shortfalls,
)
from inventory.services.serials import unit_check_available_for_user
from inventory.services.stock import stock_change, stock_levels_lock, stock_levels_save

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaleLineIn(LineRequest):
    """A line to sell; ``discount`` is an amount off the line, on top of the list discount."""

    discount: Decimal = Decimal("0")


def sale_record(
    *,
    actor: AbstractBaseUser,
    store: Store,
    lines: list[SaleLineIn],
    payment_method: str,
    sold_at: datetime.datetime | None = None,
) -> Sale:
    """Record a sale at the effective prices, take the stock and write the ledger.

    A serial can be sold once: its row is locked and its status changed only while it is
    still in stock, so of two concurrent sales of one serial exactly one succeeds. Raises
    InventoryError listing every failing line; nothing is written then.
    """
    _sale_check_request(actor=actor, store=store, lines=lines, payment_method=payment_method)
    sold_at = sold_at or timezone.now()
    price_date = timezone.localdate(sold_at)

    with transaction.atomic():
        resolved, problems = lines_resolve(lines=lines)
        levels = stock_levels_lock(pairs={(store.pk, line.product.pk) for line in resolved})
        problems += _sale_check_stock(resolved, store, levels, actor)
        priced, price_problems = _sale_price_lines(resolved, lines, store, price_date)
        problems += price_problems
        if problems:
            raise InventoryError.from_problems(problems)

        sale = Sale.objects.create(
            store=store,
            sold_at=sold_at,
            payment_method=payment_method,
            total=sum((line.line_total for line in priced), Decimal("0")),
            created_by=actor,
        )
        for line in priced:
            line.sale = sale
        SaleLine.objects.bulk_create(priced)
        _sale_mark_units_sold(resolved)
        stock_levels_save(movements=[
            stock_change(
                level=levels[(store.pk, line.product.pk)], bucket=StockBucket.ON_HAND,
                quantity=-line.quantity, kind=MovementKind.SALE,
                actor=actor, sale=sale, serial_unit=line.unit,
            )
            for line in resolved
        ])

    logger.info("sale.recorded id=%s store=%s total=%s", sale.pk, store.code, sale.total)
    return sale


def _sale_check_request(
    *, actor: AbstractBaseUser, store: Store, lines: list[SaleLineIn], payment_method: str
) -> None:
    if not store.is_active:
        raise InventoryError(
            f"Store {store.code} is closed, so it cannot record sales.",
            code=InventoryErrorCode.STORE_INACTIVE,
            field_errors={"store": ["This store is closed."]},
        )
    store_check_access(user=actor, store=store)
    if payment_method not in PaymentMethod.values:
        raise InventoryError(
            f"Payment method {payment_method!r} is invalid. "
            f"Choose one of: {', '.join(PaymentMethod.labels)}.",
            code=InventoryErrorCode.INVALID_PAYMENT_METHOD,
            field_errors={"payment_method": ["Choose a payment method."]},
        )
    if not lines:
        raise InventoryError(
            "The sale has no lines. Scan a serial or enter a SKU.",
            code=InventoryErrorCode.NO_LINES,
            field_errors={"lines": ["Add at least one line."]},
        )


def _sale_check_stock(
    resolved: list[ResolvedLine], store: Store, levels: dict, actor: AbstractBaseUser
) -> list[InventoryError]:
    problems: list[InventoryError] = []
    for line in resolved:
        if line.unit is not None:
            problem = unit_check_available_for_user(
                unit=line.unit, store=store, user=actor, field=f"lines.{line.index}",
            )
            if problem is not None:
                problems.append(problem)
    available = {product_id: level.on_hand for (_, product_id), level in levels.items()}
    problems += stock_shortfalls(lines=resolved, available=available, store_code=store.code)
    return problems


def _sale_price_lines(
    resolved: list[ResolvedLine], requests: list[SaleLineIn], store: Store, on: datetime.date
) -> tuple[list[SaleLine], list[InventoryError]]:
    prices: dict[int, EffectivePrice | None] = {}
    priced: list[SaleLine] = []
    problems: list[InventoryError] = []
    for line in resolved:
        product = line.product
        if product.pk not in prices:
            prices[product.pk] = effective_price_get(product=product, store=store, on=on)
        price = prices[product.pk]
        field = f"lines.{line.index}"
        if price is None:
            problems.append(InventoryError(
                f"SKU {product.sku} has no valid price at store {store.code} on {on:%-d %b %Y}. "
                "Ask back office to add it to a price list.",
                code=InventoryErrorCode.NO_PRICE,
                field_errors={field: ["No valid price."]},
            ))
            continue
        gross = price.price * line.quantity
        list_discount = price.discount_amount * line.quantity
        extra = _discount_parse(requests[line.index].discount, field)
        if isinstance(extra, InventoryError):
            problems.append(extra)
            continue
        discount = (list_discount + extra).quantize(CENT)
        if discount > gross:
            problems.append(InventoryError(
                f"Discount {extra} on SKU {product.sku} is more than the line total "
                f"{gross - list_discount}. Lower the discount.",
                code=InventoryErrorCode.INVALID_DISCOUNT,
                field_errors={field: ["Discount exceeds the line total."]},
            ))
            continue
        priced.append(SaleLine(
            product=product, serial_unit=line.unit, quantity=line.quantity,
            unit_price=price.price, discount=discount, line_total=(gross - discount).quantize(CENT),
        ))
    return priced, problems


def _discount_parse(value: object, field: str) -> Decimal | InventoryError:
    try:
        discount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        discount = None
    if discount is None or not discount.is_finite() or discount < 0:
        return InventoryError(
            f"Discount {value!r} is invalid. Enter an amount of zero or more, such as 5.00.",
            code=InventoryErrorCode.INVALID_DISCOUNT,
            field_errors={field: ["Enter an amount of zero or more."]},
        )
    return discount.quantize(CENT)


def _sale_mark_units_sold(resolved: list[ResolvedLine]) -> None:
    """Mark the sold units; the caller holds their row locks and checked they are in stock."""
    for line in resolved:
        if line.unit is None:
            continue
        # The status condition makes a second sale of the unit change nothing, also on a
        # database where select_for_update() does not lock (SQLite).
        changed = SerialUnit.objects.filter(
            pk=line.unit.pk, status=SerialStatus.IN_STOCK
        ).update(status=SerialStatus.SOLD, updated_at=timezone.now())
        if changed != 1:
            raise InventoryError(
                f"Serial {line.unit.serial} was sold by someone else just now.",
                code=InventoryErrorCode.SERIAL_ALREADY_SOLD,
                field_errors={f"lines.{line.index}": ["Already sold."]},
            )
