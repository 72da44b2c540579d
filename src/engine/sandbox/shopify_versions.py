"""Which Admin API version Shopify serves for the version a request names.

Facts (shopify.dev "About Shopify API versioning"): a stable version comes out every quarter, named
YYYY-01/04/07/10 and released on the quarter's first day at 17:00 UTC; each is supported for at least
12 months. A request naming a version no longer supported is answered, without an error, as the oldest
supported stable version, and every answer's `X-Shopify-API-Version` header names the version actually
served. A name that is not a version at all is not a route: 404. Versions not yet released (release
candidates, unstable) are refused here too, which is stricter than Shopify.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")
SUPPORT_MONTHS = 12
HEADER = "X-Shopify-API-Version"


def _released(version: str) -> datetime:
    year, month = (int(part) for part in version.split("-"))
    return datetime(year, month, 1, 17, tzinfo=UTC)


def supported_versions(now: datetime) -> list[str]:
    """The stable versions supported at `now`, oldest first."""
    versions = []
    year, month = now.year - 1, 1
    while (year, month) <= (now.year, now.month):
        version = f"{year}-{month:02d}"
        released = _released(version)
        retired = released.replace(year=released.year + SUPPORT_MONTHS // 12)
        if released <= now < retired:
            versions.append(version)
        year, month = (year + 1, 1) if month == 10 else (year, month + 3)
    return versions


def served_version(requested: str, now: datetime) -> str | None:
    """The version Shopify answers `requested` with, or None when no version by that name exists."""
    if not VERSION.match(requested):
        return None
    supported = supported_versions(now)
    if requested in supported:
        return requested
    if _released(requested) > now:
        return None
    return supported[0]
