"""Stripe client: what the payouts flow reads (payouts and their balance transactions), paced by
retrying 429s. Bearer auth with a restricted key (rk_…) that may read payouts and balance."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx

from engine.platforms.http import ErrorInfo, PlatformHttpClient, generic_error_info, short_body

# Stripe's 403 for a restricted key: "... Having the 'rak_payout_read' permission would allow ...".
MISSING_PERMISSION = re.compile(r"Having the '([a-z_]+)' permission")


class StripeClient(PlatformHttpClient):
    platform = "stripe"

    def __init__(self, base_url: str, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url, headers={"Authorization": f"Bearer {api_key}"}, **kwargs)
        self.__key = api_key

    def _secrets(self) -> Iterable[str]:
        return (self.__key,)

    def _error_info(self, response: httpx.Response) -> ErrorInfo:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        message = str(error.get("message") or "") if isinstance(error, dict) else ""
        missing = MISSING_PERMISSION.search(message) if response.status_code == 403 else None
        if missing:
            # A restricted key without a permission the flow needs: no retry helps, a new key does.
            return ErrorInfo(
                "STRIPE_PERMISSION_MISSING", f"the restricted key lacks the {missing.group(1)} permission"
            )
        return generic_error_info(response.status_code, message or short_body(response))

    async def _list(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        _, body = await self.request("GET", path, params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise self._error("MALFORMED_RESPONSE", f"expected a Stripe list from {path}")
        return data

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a list, newest first, following `starting_after` while `has_more`."""
        after: str | None = None
        while True:
            page_params = {**params, "limit": 100, **({"starting_after": after} if after else {})}
            _, body = await self.request("GET", path, params=page_params)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list) or not all(isinstance(d, dict) and d.get("id") for d in data):
                raise self._error("MALFORMED_RESPONSE", f"expected a Stripe list from {path}")
            if data:
                yield data
            if not data or not body.get("has_more"):
                return
            after = str(data[-1]["id"])

    async def recent_payouts(self, limit: int = 1) -> list[dict[str, Any]]:
        return await self._list("payouts", {"limit": limit})

    async def balance_transactions(self, payout_id: str, limit: int = 100) -> list[dict[str, Any]]:
        return await self._list("balance_transactions", {"payout": payout_id, "limit": limit})

    def iter_payouts(self, arrived_from: int, arrived_before: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Payouts whose arrival date (unix seconds) is in [arrived_from, arrived_before)."""
        return self._pages("payouts", {"arrival_date[gte]": arrived_from, "arrival_date[lt]": arrived_before})

    async def get_payout(self, payout_id: str) -> dict[str, Any]:
        _, body = await self.request("GET", f"payouts/{payout_id}")
        if not isinstance(body, dict) or body.get("object") != "payout":
            raise self._error("MALFORMED_RESPONSE", "expected a Stripe payout")
        return body

    async def payout_transactions(self, payout_id: str) -> list[dict[str, Any]]:
        """All balance transactions of an automatic payout, each with its source (charge, refund,
        dispute) expanded and a refund's or dispute's charge too, whose metadata names the order
        (a refund's and a dispute's own metadata are empty). Stripe expands a nested path's parents,
        but both are asked for so a source that is itself a charge is expanded whatever Stripe makes
        of a `charge` it lacks."""
        params = {"payout": payout_id, "expand[]": ["data.source", "data.source.charge"]}
        return [t async for page in self._pages("balance_transactions", params) for t in page]
