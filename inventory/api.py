"""Inventory API operations: thin wrappers around selectors and services."""

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema, Status

from inventory import services
from inventory.models import Sale, Transfer
from inventory.schemas import SaleIn, SaleOut, StoreOut, TransferIn, TransferOut
from inventory.selectors import (
    sale_get_for_user,
    store_get_active,
    store_get_for_user,
    store_list_for_user,
    transfer_get_for_user,
)

router = Router(tags=["stores"])


@router.get("/stores", response=list[StoreOut], url_name="store-list")
def store_list(request: HttpRequest) -> list:
    """List the active stores the caller may act on."""
    return list(store_list_for_user(user=request.user))


class ErrorOut(Schema):
    code: str
    message: str
    field_errors: dict[str, list[str]]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _transfer_out(transfer: Transfer) -> dict:
    return {
        "id": transfer.pk,
        "from_store": transfer.from_store.code,
        "to_store": transfer.to_store.code,
        "status": transfer.status,
        "notes": transfer.notes,
        "created_by": transfer.created_by.get_username() if transfer.created_by else None,
        "created_at": transfer.created_at,
        "received_at": transfer.received_at,
        "lines": [
            {
                "sku": line.product.sku,
                "serial": line.serial_unit.serial if line.serial_unit else None,
                "quantity": line.quantity,
            }
            for line in transfer.lines.all()
        ],
        "url": reverse("home:transfer-detail", kwargs={"pk": transfer.pk}),
    }


@router.post("/transfers", response={201: TransferOut, **ERRORS}, url_name="transfer-create")
def transfer_create(request: HttpRequest, payload: TransferIn) -> Status:
    """Send stock from one of the caller's stores to any active store.

    Each line is a serial, or a SKU (or barcode) with a quantity. The error of a rejected
    transfer lists every failing line in `problems`, and nothing is written then.
    """
    from_store = store_get_for_user(user=request.user, store_id=payload.from_store)
    to_store = store_get_active(store_id=payload.to_store, field="to_store")
    transfer = services.transfer_create(
        actor=request.user,
        from_store=from_store,
        to_store=to_store,
        lines=[services.TransferLineIn(**line.dict()) for line in payload.lines],
        notes=payload.notes,
    )
    transfer = transfer_get_for_user(user=request.user, transfer_id=transfer.pk)
    return Status(201, _transfer_out(transfer))


@router.get("/transfers/{int:transfer_id}", response={200: TransferOut, **ERRORS},
            url_name="transfer-detail")
def transfer_detail(request: HttpRequest, transfer_id: int) -> dict:
    """Return a transfer that leaves or reaches one of the caller's stores."""
    return _transfer_out(transfer_get_for_user(user=request.user, transfer_id=transfer_id))


@router.post("/transfers/{int:transfer_id}/receive", response={200: TransferOut, **ERRORS},
             url_name="transfer-receive")
def transfer_receive(request: HttpRequest, transfer_id: int) -> dict:
    """Receive an in-transit transfer at its destination, which must be the caller's store."""
    transfer = transfer_get_for_user(user=request.user, transfer_id=transfer_id)
    services.transfer_receive(actor=request.user, transfer=transfer)
    return _transfer_out(transfer_get_for_user(user=request.user, transfer_id=transfer_id))


def _sale_out(sale: Sale) -> dict:
    return {
        "id": sale.pk,
        "store": sale.store.code,
        "sold_at": sale.sold_at,
        "payment_method": sale.payment_method,
        "total": sale.total,
        "lines": [
            {
                "sku": line.product.sku,
                "serial": line.serial_unit.serial if line.serial_unit else None,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "line_total": line.line_total,
            }
            for line in sale.lines.all()
        ],
        "url": reverse("home:sale-detail", kwargs={"pk": sale.pk}),
    }


@router.post("/sales", response={201: SaleOut, **ERRORS}, url_name="sale-create")
def sale_create(request: HttpRequest, payload: SaleIn) -> Status:
    """Record a sale at one of the caller's stores, at the effective prices of today.

    Each line is a serial, or a SKU (or barcode) with a quantity, plus an optional
    `discount` amount. `payment_method` is one of cash, card, mobile, voucher.
    """
    store = store_get_for_user(user=request.user, store_id=payload.store)
    sale = services.sale_record(
        actor=request.user,
        store=store,
        lines=[services.SaleLineIn(**line.dict()) for line in payload.lines],
        payment_method=payload.payment_method,
    )
    return Status(201, _sale_out(sale_get_for_user(user=request.user, sale_id=sale.pk)))


@router.get("/sales/{int:sale_id}", response={200: SaleOut, **ERRORS}, url_name="sale-detail")
def sale_detail(request: HttpRequest, sale_id: int) -> dict:
    """Return a sale recorded at one of the caller's stores."""
    return _sale_out(sale_get_for_user(user=request.user, sale_id=sale_id))
