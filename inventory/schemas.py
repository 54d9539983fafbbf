"""Ninja schemas of the inventory API."""

from ninja import Schema


class StoreOut(Schema):
    id: int
    code: str
    name: str
