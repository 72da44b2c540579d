from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from engine.platforms.http import PlatformError
from engine.platforms.shopify import ShopifyClient

SHOP = "https://shop.test/admin/api/2024-10/"


def client_for(handler, **kw) -> ShopifyClient:
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("backoff_cap", 0.005)
    return ShopifyClient(SHOP, "shpat_x", transport=httpx.MockTransport(handler), **kw)


async def test_iter_order_pages_follows_link_header() -> None:
    seen: list[dict[str, str]] = []
    pages = {None: ([1, 2], "p2"), "p2": ([3, 4], "p3"), "p3": ([5], None)}

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        ids, nxt = pages[params.get("page_info")]
        headers = {"X-Shopify-Shop-Api-Call-Limit": "1/40"}
        if nxt:
            headers["Link"] = (
                f'<{SHOP}orders.json?page_info=prev&limit=2>; rel="previous", '
                f'<{SHOP}orders.json?page_info={nxt}&limit=2>; rel="next"'
            )
        return httpx.Response(200, json={"orders": [{"id": i} for i in ids]}, headers=headers)

    since = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    async with client_for(handler) as client:
        got = [
            [o["id"] for o in page]
            async for page in client.iter_order_pages(updated_at_min=since, limit=2, fields=["id", "name"])
        ]
    assert got == [[1, 2], [3, 4], [5]]
    assert seen[0] == {
        "status": "any",
        "updated_at_min": "2026-11-01T06:00:00+00:00",
        "limit": "2",
        "fields": "id,name",
    }
    # Follow-up pages carry only page_info, limit and fields.
    assert seen[1] == {"page_info": "p2", "limit": "2", "fields": "id,name"}
    assert seen[2] == {"page_info": "p3", "limit": "2", "fields": "id,name"}


async def test_naive_datetime_is_refused() -> None:
    async with client_for(lambda r: httpx.Response(200, json={"count": 0})) as client:
        with pytest.raises(ValueError):
            await client.count_orders(created_at_min=datetime(2026, 1, 1))


async def test_count_orders_sends_iso_filters() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/orders/count.json")
        assert request.url.params["created_at_max"] == "2026-11-02T00:00:00+01:00"
        return httpx.Response(200, json={"count": 17})

    tz = timezone(timedelta(hours=1))
    async with client_for(handler) as client:
        assert await client.count_orders(created_at_max=datetime(2026, 11, 2, tzinfo=tz)) == 17


async def test_get_order_404_is_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errors": "Not Found"})

    async with client_for(handler) as client:
        with pytest.raises(PlatformError) as info:
            await client.get_order(42)
    assert info.value.code == "NOT_FOUND"
    assert info.value.message == "Not Found"
    assert info.value.status == 404


async def test_find_order_by_name_number_and_id() -> None:
    orders = [{"id": 5550001, "name": "#1001", "order_number": 1001}]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/orders.json"):
            name = request.url.params["name"]
            return httpx.Response(200, json={"orders": [o for o in orders if o["name"] == name]})
        if path.endswith("/orders/5550001.json"):
            return httpx.Response(200, json={"order": orders[0]})
        return httpx.Response(404, json={"errors": "Not Found"})

    async with client_for(handler) as client:
        assert (await client.find_order("#1001"))["id"] == 5550001
        assert (await client.find_order("1001"))["id"] == 5550001
        assert (await client.find_order("5550001"))["id"] == 5550001
        assert await client.find_order("#9999") is None
        assert await client.find_order("777") is None


async def test_call_limit_header_makes_the_client_wait() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"refunds": []}, headers={"X-Shopify-Shop-Api-Call-Limit": "39/40"})

    # leak 2/s ÷ 0.01 = 200/s; from 39 to below 32 takes (39 + 1 - 32) / 200 = 40 ms.
    async with client_for(handler, time_scale=0.01) as client:
        await client.get_refunds(1)
        assert client.stats.waits_for_pacing == 0
        await client.get_refunds(1)
        assert 0.03 <= client.stats.waits_for_pacing <= 0.05


async def test_list_products_reads_all_pages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page_info") == "b":
            return httpx.Response(200, json={"products": [{"id": 2}]})
        return httpx.Response(
            200,
            json={"products": [{"id": 1}]},
            headers={"Link": f'<{SHOP}products.json?limit=250&page_info=b>; rel="next"'},
        )

    async with client_for(handler) as client:
        assert [p["id"] for p in await client.list_products()] == [1, 2]


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("count", [{"count": 3}]),
        ("count", {"count": "three"}),
        ("count", {"orders": []}),
        ("list", {"orders": {"id": 1}}),
        ("list", {"order": []}),
        ("list", [{"orders": []}]),
    ],
)
async def test_an_answer_of_the_wrong_shape_is_malformed_response(path: str, answer) -> None:
    async with client_for(lambda r: httpx.Response(200, json=answer)) as client:
        with pytest.raises(PlatformError) as info:
            if path == "count":
                await client.count_orders()
            else:
                [page async for page in client.iter_order_pages()]
    assert info.value.code == "MALFORMED_RESPONSE"
