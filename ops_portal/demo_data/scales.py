"""The sizes of the demo data set: small to try the portal, large for benchmarks."""

from dataclasses import dataclass

# Days of sales history, ending with today.
HISTORY_DAYS = 90


@dataclass(frozen=True)
class DemoScale:
    name: str
    store_count: int
    # Positions (0-based, in store code order) of the stores that are closed: they keep
    # their stock but have no sales and no settlements.
    inactive_store_positions: tuple[int, ...]
    product_count: int
    # Chance that a store carries a given serialized or plain product.
    serialized_stock_share: float
    plain_stock_share: float
    sale_lines: int
    # Chance that a sale line sells a serialized unit rather than a plain SKU.
    serialized_line_share: float
    # In-transit transfers that each active store has sent.
    transfers_per_store: int
    batch_size: int = 5000


# About 300 SKUs and a few thousand units: loads in seconds on SQLite.
SMALL = DemoScale(
    name="small",
    store_count=6,
    inactive_store_positions=(5,),
    product_count=300,
    serialized_stock_share=0.6,
    plain_stock_share=0.7,
    sale_lines=4_500,
    serialized_line_share=0.25,
    transfers_per_store=1,
)

# 20,000 SKUs, about 1,000,000 serial units and 1,000,000 sale lines over 50 stores.
LARGE = DemoScale(
    name="large",
    store_count=50,
    inactive_store_positions=(24, 49),
    product_count=20_000,
    serialized_stock_share=0.45,
    plain_stock_share=0.5,
    sale_lines=1_000_000,
    serialized_line_share=0.25,
    transfers_per_store=2,
)

SCALES = {scale.name: scale for scale in (SMALL, LARGE)}
