"""Reads that feed one section of Home."""
