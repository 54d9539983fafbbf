"""Reads that feed Home, one module per section of the page."""
