"""The demo accounts that seed_demo creates and run_portal prints."""

from dataclasses import dataclass

from inventory.roles import BACK_OFFICE, OPERATIONS, STORE_STAFF


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


# Fixed so that the README and run_portal can show them; these accounts are for a local
# demo only, and seed_demo refuses to create them when DEBUG is off unless forced.
DEMO_ACCOUNTS = (
    DemoAccount("staff", "demo-staff-pass", STORE_STAFF),
    DemoAccount("backoffice", "demo-backoffice-pass", BACK_OFFICE),
    DemoAccount("operations", "demo-operations-pass", OPERATIONS),
)
