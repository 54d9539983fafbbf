"""Resolution of requested lines (SKU and quantity, or serial) to products and locked units."""

from dataclasses import dataclass

from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import Product, SaleLine, SerialStatus, SerialUnit
from inventory.selectors import products_with_skus, sku_key


@dataclass(frozen=True)
class LineRequest:
    """One requested line: a serial, or a SKU (or barcode) with a quantity."""

    sku: str = ""
    serial: str = ""
    quantity: int = 1


@dataclass
class ResolvedLine:
    index: int
    product: Product
    quantity: int
    unit: SerialUnit | None = None


def lines_resolve(
    *, lines: list[LineRequest], field_prefix: str = "lines"
) -> tuple[list[ResolvedLine], list[InventoryError]]:
    """Resolve lines to products and serial units, locking the units in primary-key order.

    Returns the resolved lines and one error per line that failed, so the caller can
    report every failing line at once. The caller must be inside transaction.atomic().
    """
    serials = [line.serial.strip() for line in lines if line.serial.strip()]
    skus = [line.sku.strip() for line in lines if line.sku.strip() and not line.serial.strip()]

    units = {
        unit.serial: unit
        for unit in SerialUnit.objects.select_for_update().filter(serial__in=serials).order_by("pk")
    }
    # The units' products come from a query of their own, because a join in the locking
    # query would lock each product's row too. A sale and an import chunk that references
    # the product would then wait for each other.
    unit_products = Product.objects.in_bulk({unit.product_id for unit in units.values()})
    for unit in units.values():
        unit.product = unit_products[unit.product_id]
    products_by_key = {sku_key(product.sku): product for product in products_with_skus(skus)}
    products = {
        sku: products_by_key[sku_key(sku)] for sku in skus if sku_key(sku) in products_by_key
    }
    missing_skus = [sku for sku in skus if sku not in products]
    if missing_skus:
        for product in Product.objects.filter(barcode__in=missing_skus).order_by("pk"):
            products.setdefault(product.barcode, product)

    resolved: list[ResolvedLine] = []
    problems: list[InventoryError] = []
    seen_serials: set[str] = set()
    for index, line in enumerate(lines):
        field = f"{field_prefix}.{index}"
        result = _line_resolve(index, line, field, units, products, seen_serials)
        if isinstance(result, InventoryError):
            problems.append(result)
        else:
            resolved.append(result)
    return resolved, problems


def _line_resolve(
    index: int,
    line: LineRequest,
    field: str,
    units: dict[str, SerialUnit],
    products: dict[str, Product],
    seen_serials: set[str],
) -> ResolvedLine | InventoryError:
    serial = line.serial.strip()
    sku = line.sku.strip()
    if serial:
        unit = units.get(serial)
        if unit is None:
            return InventoryError(
                f"Serial {serial} is not known. Check the number or scan it again.",
                code=InventoryErrorCode.UNKNOWN_SERIAL,
                field_errors={field: [f"Unknown serial {serial}."]},
            )
        if serial in seen_serials:
            return InventoryError(
                f"Serial {serial} is listed twice. Remove one of the lines.",
                code=InventoryErrorCode.SERIAL_REPEATED,
                field_errors={field: ["Serial listed twice."]},
            )
        seen_serials.add(serial)
        return ResolvedLine(index=index, product=unit.product, quantity=1, unit=unit)

    if not sku:
        return InventoryError(
            f"Line {index + 1} has neither a SKU nor a serial. Enter one of them.",
            code=InventoryErrorCode.UNKNOWN_SKU,
            field_errors={field: ["Enter a SKU or a serial."]},
        )
    product = products.get(sku)
    if product is None:
        return InventoryError(
            f"SKU {sku} is not known. Check the code or scan the barcode again.",
            code=InventoryErrorCode.UNKNOWN_SKU,
            field_errors={field: [f"Unknown SKU {sku}."]},
        )
    if product.is_serialized:
        return InventoryError(
            f"SKU {sku} is serialized: enter the serial or IMEI of each unit instead.",
            code=InventoryErrorCode.SERIAL_REQUIRED,
            field_errors={field: ["Enter the serial of each unit."]},
        )
    if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 1:
        return InventoryError(
            f"Quantity {line.quantity} for SKU {sku} is invalid. Enter a whole number of 1 or more.",
            code=InventoryErrorCode.INVALID_QUANTITY,
            field_errors={field: ["Enter a whole number of 1 or more."]},
        )
    return ResolvedLine(index=index, product=product, quantity=line.quantity)


def stock_shortfalls(
    *, lines: list[ResolvedLine], available: dict[int, int], store_code: str
) -> list[InventoryError]:
    """Return one error per non-serialized product whose lines need more than is available.

    ``available`` maps product id to the sellable quantity at the store.
    """
    needed: dict[int, int] = {}
    products: dict[int, Product] = {}
    for line in lines:
        if line.unit is None:
            needed[line.product.pk] = needed.get(line.product.pk, 0) + line.quantity
            products[line.product.pk] = line.product
    problems = []
    for product_id, quantity in needed.items():
        have = available.get(product_id, 0)
        if quantity > have:
            sku = products[product_id].sku
            if have <= 0:
                message = (f"SKU {sku} is out of stock at store {store_code}. Find Stock shows "
                           "which stores have it.")
                field_message = f"{sku} is out of stock here."
            else:
                message = (f"Only {have} of SKU {sku} in stock at store {store_code}, "
                           f"but {quantity} requested. Lower the quantity to {have} or less.")
                field_message = f"Only {have} of {sku} in stock."
            problems.append(
                InventoryError(
                    message,
                    code=InventoryErrorCode.INSUFFICIENT_STOCK,
                    field_errors={"lines": [field_message]},
                )
            )
    return problems


def unit_check_available(
    *, unit: SerialUnit, store_id: int, store_code: str, field: str
) -> InventoryError | None:
    """Return an error unless the unit is in stock at the store, naming why it is not."""
    if unit.status == SerialStatus.SOLD:
        sold = (
            SaleLine.objects.select_related("sale")
            .filter(serial_unit=unit, quantity__gt=0)
            .order_by("-sale__sold_at", "-pk")
            .first()
        )
        where = f" (sale {sold.sale_id}, {sold.sale.sold_at:%-d %b})" if sold else ""
        return InventoryError(
            f"Serial {unit.serial} is already sold{where}.",
            code=InventoryErrorCode.SERIAL_ALREADY_SOLD,
            field_errors={field: [f"Already sold{where}."]},
        )
    if unit.store_id != store_id:
        return InventoryError(
            f"Serial {unit.serial} is not at store {store_code}. Find Stock shows where it is.",
            code=InventoryErrorCode.SERIAL_AT_OTHER_STORE,
            field_errors={field: [f"Not at store {store_code}."]},
        )
    if unit.status != SerialStatus.IN_STOCK:
        return InventoryError(
            f"Serial {unit.serial} is {unit.get_status_display().lower()}, "
            "so it cannot be sold or sent. Set it back to in stock first.",
            code=InventoryErrorCode.SERIAL_NOT_AVAILABLE,
            field_errors={field: [f"Status is {unit.get_status_display().lower()}."]},
        )
    return None
