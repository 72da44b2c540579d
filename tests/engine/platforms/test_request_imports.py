"""A platform request must not search the import path: httpcore imports `sniffio` while it sets up
its locks, several times per request, and when the package is missing each of those imports walks
every finder on sys.path (about a fifth of the engine's CPU per request in bench/backfill.py)."""

import importlib.abc
import sys
from typing import Any

from engine.platforms.shopify import ShopifyClient


class ImportWatch(importlib.abc.MetaPathFinder):
    """Notes every module name the import system searches for (so not found in sys.modules)."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        self.searched.append(fullname)


async def test_requests_after_the_first_search_no_module(sandbox) -> None:
    shop = sandbox["shopify"]
    async with ShopifyClient(shop["base_url"], shop["access_token"], time_scale=0.02) as client:
        await client.count_orders()  # the first request may import what it needs once
        watch = ImportWatch()
        sys.meta_path.insert(0, watch)
        try:
            for _ in range(5):
                assert await client.count_orders() == sandbox["orders"]
        finally:
            sys.meta_path.remove(watch)
    assert watch.searched == []
