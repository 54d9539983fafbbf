"""Business operations on stock: transfers, sales and the stock ledger."""

from inventory.services.sales import SaleLineIn, sale_record
from inventory.services.stock import stock_level_adjust
from inventory.services.transfers import TransferLineIn, transfer_create, transfer_receive

__all__ = [
    "SaleLineIn",
    "TransferLineIn",
    "sale_record",
    "stock_level_adjust",
    "transfer_create",
    "transfer_receive",
]
