from __future__ import annotations

import httpx


def stripe(sandbox) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.info["stripe"]["base_url"],
        headers={"Authorization": f"Bearer {sandbox.info['stripe']['api_key']}"},
    )


def test_auth(sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer sk_test_wrong"}):
        response = httpx.get(sandbox.info["stripe"]["base_url"] + "payouts", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert stripe(sandbox).get("nothing").status_code == 404


def test_payout_pages_and_transactions(sandbox, control) -> None:
    client = stripe(sandbox)
    seen = []
    params: dict[str, object] = {"limit": 3}
    while True:
        page = client.get("payouts", params=params).json()
        assert page["object"] == "list"
        seen += page["data"]
        if not page["has_more"]:
            break
        params = {"limit": 3, "starting_after": page["data"][-1]["id"]}
    created = [p["created"] for p in seen]
    assert created == sorted(created, reverse=True) and len(seen) >= 20
    assert len({p["id"] for p in seen}) == len(seen)
    payout = seen[-1]
    assert payout["status"] == "paid" and payout["id"].startswith("po_")
    txns = client.get(
        "balance_transactions", params={"payout": payout["id"], "limit": 100, "expand[]": "data.source"}
    ).json()["data"]
    charges = [t for t in txns if t["type"] == "charge"]
    assert charges and charges[0]["source"]["metadata"]["order_id"].startswith("#")
    assert sum(t["net"] for t in txns if t["type"] != "payout") == payout["amount"]
    names = {o["name"] for o in control.get("shopify/orders").json() if o["gateway"] == "stripe"}
    assert {t["source"]["metadata"]["order_id"] for t in charges} <= names
