"""Field rules on the API: hidden fields leave every JSON answer, fixed fields are refused on input.

The middleware sees requests before the acting user is known, so it works in two halves: it
notes the keys of a JSON request body in the request state for ``deps.Permit`` (which knows the
user and refuses a body naming a field the user may not set), and when ``Permit`` has left the
user's hidden keys in the state, it removes them from the JSON answer.
"""

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cangliu.core.permissions import keys_of, redact

BODY_KEYS = "body_keys"
HIDDEN_KEYS = "hidden_keys"


class FieldRulesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            receive = await self._noting_keys(receive, state)
        await self.app(scope, receive, self._redacting(send, state))

    @staticmethod
    async def _noting_keys(receive: Receive, state: dict[str, Any]) -> Receive:
        """Read the whole body once, note its keys, and hand the same body on."""
        chunks, more = [], True
        messages: list[Message] = []
        while more:
            message = await receive()
            messages.append(message)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False) and message["type"] == "http.request"
        body = b"".join(chunks)
        try:
            state[BODY_KEYS] = frozenset(keys_of(json.loads(body))) if body else frozenset()
        except ValueError:
            state[BODY_KEYS] = frozenset()  # not JSON: the route's own parsing answers 422
        replay = [{"type": "http.request", "body": body, "more_body": False}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()
        return replayed

    @staticmethod
    def _redacting(send: Send, state: dict[str, Any]) -> Send:
        start: Message | None = None
        chunks: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal start
            hidden = state.get(HIDDEN_KEYS)
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if hidden and b"json" in content_type:
                    start = message
                    return
            elif start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = json.dumps(redact(json.loads(b"".join(chunks)), state[HIDDEN_KEYS]),
                                  ensure_ascii=False, separators=(",", ":")).encode()
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)
        return sending
