"""ShopifyClient against the real sandbox over loopback (no mocks)."""

import asyncio
from contextlib import aclosing
from typing import Any

from engine.platforms.shopify import ShopifyClient

from .conftest import control

SCALE = 0.02


def client_for(info: dict[str, Any]) -> ShopifyClient:
    shop = info["shopify"]
    return ShopifyClient(shop["base_url"], shop["access_token"], time_scale=SCALE, backoff_base=0.05)


async def test_iterating_all_order_pages_matches_the_count(sandbox) -> None:
    async with client_for(sandbox) as client:
        total = await client.count_orders()
        pages = [page async for page in client.iter_order_pages(limit=7, fields=["id", "name", "updated_at"])]
    ids = [o["id"] for page in pages for o in page]
    assert total == sandbox["orders"] == len(ids) == len(set(ids))
    assert len(pages) == -(-total // 7)
    assert set(pages[0][0]) <= {"id", "name", "updated_at"}


async def test_find_and_get_order(sandbox) -> None:
    async with client_for(sandbox) as client:
        async with aclosing(client.iter_order_pages(limit=1)) as pages:
            first = (await anext(pages))[0]
        assert (await client.find_order(first["name"]))["id"] == first["id"]
        assert (await client.find_order(str(first["order_number"])))["id"] == first["id"]
        assert (await client.find_order(str(first["id"])))["id"] == first["id"]
        assert await client.find_order("#999999") is None
        assert (await client.get_order(first["id"]))["name"] == first["name"]
        assert isinstance(await client.get_refunds(first["id"]), list)


async def test_concurrent_reads_stay_under_the_bucket(sandbox) -> None:
    before = control(sandbox, "GET", "stats")["shopify"]
    async with client_for(sandbox) as client:
        order_ids = [o["id"] async for page in client.iter_order_pages(fields=["id"]) for o in page]
        sem = asyncio.Semaphore(16)

        async def read(order_id: int) -> None:
            async with sem:
                await client.get_order(order_id)

        await asyncio.gather(*(read(i) for i in order_ids * 2))
        stats = client.stats
    after = control(sandbox, "GET", "stats")["shopify"]
    assert after["429"] - before["429"] == 0
    assert stats.responses_429 == 0


async def test_products_and_customers(sandbox) -> None:
    async with client_for(sandbox) as client:
        products = await client.list_products()
        customers = await client.list_customers()
    assert products and all("variants" in p for p in products)
    assert customers and all("id" in c for c in customers)
