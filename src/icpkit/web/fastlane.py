"""The hot path: ``POST /api/v1/score`` for one account, answered in a few hundred microseconds.

A CRM scoring accounts one at a time is the API's busiest caller. This ASGI
layer answers exactly that request, a token seen in the last minute and a
body of ``{"account": {...}}`` whose values are plain JSON scalars or lists,
with the compiled :class:`~icpkit.web.rowscore.RowScorer`, skipping the
framework's per-request routing, dependency and model work. It produces the
same bytes as the ``/api/v1/score`` route. Anything else (no or new token,
a batch, odd values, a body not sent as JSON, errors) is handed to the route
unchanged, body replayed,
so validation, error bodies and the OpenAPI schema have one home.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .jobs import Service

PATH = "/api/v1/score"
_SCALARS = (str, int, float, bool, type(None))


def _plain(account: Any) -> bool:
    if not isinstance(account, dict):
        return False
    for v in account.values():
        if isinstance(v, list):
            if not all(isinstance(x, _SCALARS) for x in v):
                return False
        elif not isinstance(v, _SCALARS):
            return False
    return True


class FastLane:
    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        from .api import is_json_type

        token = None
        content_type = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                scheme, _, rest = v.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = rest.strip()
            elif k == b"content-type":
                content_type = v.decode("latin-1")
        snap = self.service.snapshot
        if (
            not token
            or snap.scorer is None
            or not is_json_type(content_type)  # the route answers that with its 415
            or self.service.tokens.get(token) is None
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            msg = await receive()
            messages.append(msg)
            if msg["type"] != "http.request":
                break
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        answer = self._answer(body, snap)
        if answer is None:

            async def replay() -> Message:
                return messages.pop(0) if messages else await receive()

            await self.app(scope, replay, send)
            return
        self.service.fast_hits += 1
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(answer)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    @staticmethod
    def _answer(body: bytes, snap: Any) -> bytes | None:
        from .api import _shape

        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None  # the route answers with its 4xx
        if not isinstance(data, dict) or list(data) != ["account"] or not _plain(data["account"]):
            return None
        result = snap.scorer.score(data["account"])
        if result is None:
            return None
        out = {"ok": True, "icp_version": snap.version, "result": _shape(result)}
        try:
            return json.dumps(out, ensure_ascii=False, default=str).encode()
        except UnicodeEncodeError:  # a lone surrogate: the route answers with its 422
            return None
