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


def all_transactions(client: httpx.Client, payout: str, *expand: str) -> list[dict]:
    params: dict[str, object] = {"payout": payout, "limit": 100, "expand[]": list(expand)}
    page = client.get("balance_transactions", params=params).json()
    assert not page["has_more"]
    return page["data"]


def every_payout(client: httpx.Client) -> list[dict]:
    return client.get("payouts", params={"limit": 100}).json()["data"]


def test_refunds_and_disputes_name_their_order_only_through_the_charge(sandbox) -> None:
    client = stripe(sandbox)
    lines = [t for p in every_payout(client) for t in all_transactions(client, p["id"], "data.source.charge")]
    dispute = next(t for t in lines if t["reporting_category"] == "dispute")
    assert dispute["type"] == "adjustment" and dispute["source"]["id"].startswith("dp_")
    assert dispute["amount"] < 0 < dispute["fee"] and dispute["net"] == dispute["amount"] - dispute["fee"]
    assert dispute["fee_details"][0]["type"] == "stripe_fee"
    refund = next(t for t in lines if t["type"] == "refund")
    for line in (dispute, refund):
        assert line["source"]["metadata"] == {}
        assert line["source"]["charge"]["metadata"]["order_id"].startswith("#")
    # One level of expansion leaves the charge an id, as Stripe does.
    payout = next(
        p
        for p in every_payout(client)
        if any(t["id"] == refund["id"] for t in all_transactions(client, p["id"]))
    )
    shallow = {t["id"]: t for t in all_transactions(client, payout["id"], "data.source")}
    assert shallow[refund["id"]]["source"]["charge"].startswith("ch_")
    assert isinstance(all_transactions(client, payout["id"])[0]["source"], str)


def test_a_foreign_charge_settles_in_kronor_at_its_rate(sandbox) -> None:
    client = stripe(sandbox)
    charges = [
        t
        for p in every_payout(client)
        for t in all_transactions(client, p["id"], "data.source")
        if t["type"] == "charge"
    ]
    foreign = next(t for t in charges if t["exchange_rate"] is not None)
    charge = foreign["source"]
    assert foreign["currency"] == "sek" and charge["currency"] != "sek"
    assert abs(charge["amount"] * foreign["exchange_rate"] - foreign["amount"]) <= 1
    assert all(t["source"]["currency"] == "sek" for t in charges if t["exchange_rate"] is None)


def test_a_paid_payout_can_fail_and_its_money_is_paid_out_again(sandbox) -> None:
    client = stripe(sandbox)
    payouts = every_payout(client)
    failed = next(p for p in payouts if p["status"] == "failed")
    assert failed["failure_code"] and failed["failure_balance_transaction"].startswith("txn_")
    reversal = next(
        (p, t) for p in payouts for t in all_transactions(client, p["id"]) if t["type"] == "payout_failure"
    )
    again, line = reversal
    assert line["id"] == failed["failure_balance_transaction"] and line["source"] == failed["id"]
    assert line["amount"] == failed["amount"] and again["created"] > failed["arrival_date"]
    for payout in (failed, again):
        assert (
            sum(t["net"] for t in all_transactions(client, payout["id"]) if t["type"] != "payout")
            == payout["amount"]
        )


def test_list_parameters_are_checked_as_stripe_does(sandbox) -> None:
    client = stripe(sandbox)
    payouts = every_payout(client)
    assert client.get("payouts", params={"limit": 101}).status_code == 400
    both = {"starting_after": payouts[1]["id"], "ending_before": payouts[3]["id"]}
    assert client.get("payouts", params=both).status_code == 400
    before = client.get("payouts", params={"ending_before": payouts[3]["id"], "limit": 2}).json()
    assert [p["id"] for p in before["data"]] == [payouts[1]["id"], payouts[2]["id"]] and before["has_more"]
    wrong = client.get("balance_transactions", params={"payout": payouts[0]["id"], "expand[]": "source"})
    assert wrong.status_code == 400 and "'data.source'" in wrong.json()["error"]["message"]
    txns = all_transactions(client, payouts[0]["id"])
    assert [t["created"] for t in txns] == sorted((t["created"] for t in txns), reverse=True)
