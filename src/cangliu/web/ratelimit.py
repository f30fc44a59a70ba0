"""Rate limits: a token bucket per caller — the API token, else the browser session, else the
client address — with separate budgets for reads and writes and a tight one for logging in.

A refused request answers 429 problem details with ``Retry-After``; every API answer carries
``X-RateLimit-Limit`` (the bucket's size), ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
(seconds until the bucket is full again). The buckets live in the process: several app
processes behind a load balancer each keep their own, so the effective budget is per process.
"""

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cangliu.i18n import DEFAULT, negotiate, translate

# The calls an offline batch makes to the app for its operations carry ACTING_FOR in their scope:
# the batch was counted once, as one write, when it arrived.
from cangliu.web.deps import ACTING_FOR

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATHS = frozenset({"/api/v1/auth/login", "/login"})
MAX_BUCKETS = 20_000  # past this, buckets that have refilled are forgotten


@dataclass(frozen=True)
class Limits:
    """Requests per minute for each budget; a bucket holds a minute's worth (the burst)."""

    read_per_minute: int = 600
    write_per_minute: int = 120
    login_per_minute: int = 20

    @classmethod
    def from_settings(cls, settings: Any) -> "Limits":
        """Read ``rate_limit_*_per_minute`` from the settings, with these defaults until set."""
        return cls(read_per_minute=getattr(settings, "rate_limit_read_per_minute", 600),
                   write_per_minute=getattr(settings, "rate_limit_write_per_minute", 120),
                   login_per_minute=getattr(settings, "rate_limit_login_per_minute", 20))


@dataclass
class Bucket:
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        rate = self.capacity / 60.0
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now

    def wait(self) -> float:
        """Seconds until one whole token is back."""
        return max(0.0, (1.0 - self.tokens) * 60.0 / self.capacity)

    def until_full(self) -> float:
        return (self.capacity - self.tokens) * 60.0 / self.capacity


@dataclass
class Verdict:
    allowed: bool
    bucket: Bucket


@dataclass
class Limiter:
    """The buckets, keyed by budget and caller; ``clock`` is monotonic seconds."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)

    def take(self, budget: str, caller: str) -> Verdict:
        now = self.clock()
        capacity = float(getattr(self.limits, f"{budget}_per_minute"))
        bucket = self.buckets.get((budget, caller))
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self.forget_full(now)
            bucket = self.buckets[(budget, caller)] = Bucket(capacity, capacity, now)
        bucket.refill(now)
        if bucket.tokens < 1.0:
            return Verdict(False, bucket)
        bucket.tokens -= 1.0
        return Verdict(True, bucket)

    def forget_full(self, now: float) -> None:
        """Idle callers' buckets are full again and carry no state worth keeping."""
        for key, bucket in list(self.buckets.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.capacity:
                del self.buckets[key]


def budget_of(method: str, path: str) -> str:
    if method == "POST" and path in LOGIN_PATHS:
        return "login"
    return "read" if method in SAFE_METHODS else "write"


def caller_of(scope: Scope, budget: str) -> str:
    """The API token (hashed: the key must not be a usable secret), else the session, else the
    address. Logins count per address: that is where guessing comes from."""
    address = scope["client"][0] if scope.get("client") else ""
    if budget == "login":
        return f"ip:{address}"
    headers = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer ":
        return "token:" + hashlib.sha256(authorization[7:].strip()).hexdigest()[:32]
    session_id = (scope.get("session") or {}).get("sid")
    return f"session:{session_id}" if session_id else f"ip:{address}"


def limit_headers(bucket: Bucket) -> list[tuple[bytes, bytes]]:
    return [(b"x-ratelimit-limit", str(int(bucket.capacity)).encode()),
            (b"x-ratelimit-remaining", str(int(bucket.tokens)).encode()),
            (b"x-ratelimit-reset", str(math.ceil(bucket.until_full())).encode())]


async def refuse(scope: Scope, send: Send, bucket: Bucket) -> None:
    """429 problem details in the caller's language, with when to try again."""
    headers = dict(scope.get("headers") or [])
    state = getattr(scope.get("app"), "state", None)
    locale = negotiate(headers.get(b"accept-language", b"").decode("latin-1") or None, None,
                       getattr(state, "default_locale", DEFAULT))
    retry = max(1, math.ceil(bucket.wait()))
    body = json.dumps({"type": "about:blank", "title": translate(locale, "Too many requests"),
                       "status": 429, "detail": translate(
                           locale, "Too many requests: try again in {seconds} s", seconds=retry)},
                      ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry).encode()), *limit_headers(bucket)]})
    await send({"type": "http.response.body", "body": body})


class RateLimitMiddleware:
    """Counts API calls and logins against their caller's budget; pages and static files other
    than the login form pass uncounted."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app, self.limiter = app, Limiter(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get(ACTING_FOR) or not (
                path.startswith("/api/") or path in LOGIN_PATHS):
            await self.app(scope, receive, send)
            return
        budget = budget_of(scope["method"], path)
        verdict = self.limiter.take(budget, caller_of(scope, budget))
        if not verdict.allowed:
            await refuse(scope, send, verdict.bucket)
            return
        if not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(limit_headers(verdict.bucket))
            await send(message)

        await self.app(scope, receive, send_with_limits)


def install(app: Any, settings: Any) -> None:
    """Rate-limit ``app`` as the settings say, unless ``rate_limit_enabled`` is off (tests)."""
    if getattr(settings, "rate_limit_enabled", False):
        add(app, Limits.from_settings(settings))


def add(app: Any, limits: Limits) -> None:
    """Add the limiter innermost — inside the session middleware, whose session it reads — before
    the app serves its first request."""
    app.user_middleware.append(Middleware(RateLimitMiddleware, limits=limits))
