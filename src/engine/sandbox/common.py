"""Small HTTP helpers shared by the platform modules."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope, Send


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, headers=headers, media_type="application/json")


def raw_json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def send_json(send: Send, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
    """Answer from inside an ASGI wrapper, before any route has run."""
    body = dumps(data)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def add_header_send(send: Send, name: str, value_of: Any) -> Send:
    """Wrap `send` so the response start carries one more header computed at send time."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers.append((name.encode(), str(value_of()).encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


class BodyError(ValueError):
    pass


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(str(exc)) from exc
