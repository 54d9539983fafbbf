"""Names of the groups that carry the portal's roles; a data migration creates them."""

STORE_STAFF = "Store staff"
BACK_OFFICE = "Back office"
OPERATIONS = "Operations"

ALL_ROLES = (STORE_STAFF, BACK_OFFICE, OPERATIONS)

# Members of these groups read and act on every store; store staff only on their own.
ALL_STORE_ROLES = (BACK_OFFICE, OPERATIONS)
