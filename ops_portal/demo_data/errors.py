"""The error raised when the demo data cannot be loaded into this database."""


class DemoDataError(Exception):
    """The demo data cannot be loaded into this database. The message gives the reason."""
