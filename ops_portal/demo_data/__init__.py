"""Demo data for trying the portal (small scale) and for benchmarks (large scale)."""

from ops_portal.demo_data.accounts import demo_accounts_ensure
from ops_portal.demo_data.errors import DemoDataError
from ops_portal.demo_data.loader import (
    DemoDataState,
    demo_data_seed,
    demo_data_state,
    demo_member_stores,
)
from ops_portal.demo_data.scales import SCALES, DemoScale

__all__ = [
    "SCALES",
    "DemoDataError",
    "DemoDataState",
    "DemoScale",
    "demo_accounts_ensure",
    "demo_data_seed",
    "demo_data_state",
    "demo_member_stores",
]
