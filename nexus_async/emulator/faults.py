"""Fault injection: rules that add latency, fail or drop matching requests (ASGI middleware)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexus_async.emulator.errors import ApiError, StorageError, bad_request
from nexus_async.emulator.stats import Stats

STORAGE = "storage"


class ConnectionDropped(Exception):
    """Raised after a response was started so the server closes the connection mid-response."""


@dataclass
class FaultRule:
    """One fault rule.

    ``route`` is a route name (e.g. ``upload_session_create``) or ``"storage"`` for all
    signed-URL traffic; ``method`` and ``path`` (a regular expression searched in the path)
    narrow the match.  A matching request triggers with probability ``error_rate`` (drawn from
    a RNG seeded by ``seed``); a triggered request waits ``latency_ms`` (a number or
    ``[min, max]``), then is dropped (``drop``) or answered with ``status`` (optionally with
    ``Retry-After``), ``before`` the handler runs or ``after`` it ran to completion.  ``times``
    stops the rule after that many triggers.
    """

    id: int
    route: str | None = None
    method: str | None = None
    path: str | None = None
    error_rate: float = 1.0
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    latency_ms: tuple[float, float] | None = None
    drop: bool = False
    when: str = "before"
    times: int | None = None
    seed: int | None = None
    triggered: int = 0
    rng: random.Random = field(default_factory=random.Random)
    pattern: re.Pattern[str] | None = None
    spec: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, rule_id: int, spec: object) -> FaultRule:
        """Validate a JSON rule (400 on bad input)."""
        if not isinstance(spec, dict):
            raise bad_request("a fault rule must be an object")
        known = {
            "route",
            "method",
            "path",
            "error_rate",
            "status",
            "code",
            "message",
            "retry_after",
            "latency_ms",
            "drop",
            "when",
            "times",
            "seed",
        }
        unknown = set(spec) - known
        if unknown:
            raise bad_request(f"unknown fault rule fields: {', '.join(sorted(unknown))}")
        rule = cls(rule_id)
        try:
            rule.route = _opt(spec, "route", str)
            method = _opt(spec, "method", str)
            rule.method = method.upper() if method else None
            rule.path = _opt(spec, "path", str)
            rule.pattern = re.compile(rule.path) if rule.path else None
            rule.error_rate = float(spec.get("error_rate", 1.0))
            rule.status = _opt(spec, "status", int)
            rule.code = _opt(spec, "code", str)
            rule.message = _opt(spec, "message", str)
            rule.retry_after = _opt(spec, "retry_after", int)
            rule.drop = bool(spec.get("drop", False))
            rule.when = str(spec.get("when", "before"))
            rule.times = _opt(spec, "times", int)
            rule.seed = _opt(spec, "seed", int)
            latency = spec.get("latency_ms")
        except (TypeError, ValueError, re.error) as error:
            raise bad_request(f"invalid fault rule: {error}") from None
        if isinstance(latency, int | float) and not isinstance(latency, bool):
            rule.latency_ms = (float(latency), float(latency))
        elif (
            isinstance(latency, list)
            and len(latency) == 2
            and all(isinstance(v, int | float) for v in latency)
        ):
            rule.latency_ms = (float(latency[0]), float(latency[1]))
        elif latency is not None:
            raise bad_request("latency_ms must be a number or [min, max]")
        if rule.when not in ("before", "after"):
            raise bad_request("when must be 'before' or 'after'")
        if not 0.0 <= rule.error_rate <= 1.0:
            raise bad_request("error_rate must be between 0 and 1")
        if rule.status is not None and not 100 <= rule.status <= 599:
            raise bad_request("status must be an HTTP status code")
        rule.rng = random.Random(rule.seed)
        rule.spec = dict(spec)
        return rule

    def to_json(self) -> dict[str, Any]:
        """The rule as JSON (with how often it triggered)."""
        return {
            "id": self.id,
            "route": self.route,
            "method": self.method,
            "path": self.path,
            "error_rate": self.error_rate,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": list(self.latency_ms) if self.latency_ms else None,
            "drop": self.drop,
            "when": self.when,
            "times": self.times,
            "seed": self.seed,
            "triggered": self.triggered,
        }

    def matches(self, method: str, path: str, route_name: Callable[[], str | None]) -> bool:
        """Whether this (still active) rule applies to a request."""
        if self.times is not None and self.triggered >= self.times:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.pattern is not None and not self.pattern.search(path):
            return False
        if self.route == STORAGE:
            return path.startswith("/_storage/")
        return self.route is None or self.route == route_name()


def _opt(spec: dict[str, Any], key: str, kind: type[Any]) -> Any:
    value = spec.get(key)
    if value is None:
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{key} must be an integer")
    if not isinstance(value, kind):
        raise TypeError(f"{key} must be a {kind.__name__}")
    return value


class FaultSet:
    """The active fault rules (thread-safe: the control plane may run in another thread)."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self.change_listeners: list[Callable[[list[FaultRule]], None]] = []

    def _changed(self) -> None:
        for listener in self.change_listeners:
            listener(self.rules)

    def replace(self, rules: list[FaultRule]) -> None:
        """Use ``rules`` (a storage worker loading the API's rules)."""
        with self._lock:
            self.rules = rules

    def add(self, spec: object) -> FaultRule:
        """Add a rule from its JSON form."""
        with self._lock:
            rule = FaultRule.from_json(self._next_id, spec)
            self._next_id += 1
            self.rules = [*self.rules, rule]
        self._changed()
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules = []
        self._changed()

    def pick(
        self,
        method: str,
        path: str,
        route_name: Callable[[], str | None],
        claim: Callable[[FaultRule], bool] | None = None,
    ) -> FaultRule | None:
        """The first matching rule that triggers for this request (counts the trigger);
        ``claim`` may veto a trigger (storage workers share a rule's ``times``)."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, route_name) and rule.rng.random() < rule.error_rate:
                    if claim is not None and not claim(rule):
                        rule.triggered = rule.times or rule.triggered
                        continue
                    rule.triggered += 1
                    return rule
        return None


class FaultMiddleware:
    """Applies the fault rules around the application."""

    def __init__(self, app: ASGIApp, faults: FaultSet, routes: list[Route], stats: Stats) -> None:
        self.app = app
        self.faults = faults
        self.routes = routes
        self.stats = stats

    def _route_name(self, scope: Scope) -> str | None:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route.name
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, applying the first triggered rule."""
        if scope["type"] != "http" or not self.faults.rules:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        rule = self.faults.pick(scope["method"], path, lambda: self._route_name(scope))
        if rule is None:
            await self.app(scope, receive, send)
            return
        self.stats.faults_triggered += 1
        if rule.when == "before":
            await self._delay(rule)
            if rule.drop:
                await _drop(send)
            if rule.status is not None:
                await _error(rule, path, send)
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        await self._delay(rule)
        if rule.drop:
            await _drop(send)
        if rule.status is not None:
            await _error(rule, path, send)
            return
        for message in messages:
            await send(message)

    @staticmethod
    async def _delay(rule: FaultRule) -> None:
        if rule.latency_ms is not None:
            low, high = rule.latency_ms
            await asyncio.sleep(rule.rng.uniform(low, high) / 1000.0)


async def _drop(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1048576"), (b"content-type", b"application/json")],
        }
    )
    raise ConnectionDropped("connection dropped by a fault rule")


def error_reply(rule: FaultRule, path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of a rule's injected error (GCS-like XML on storage)."""
    status = rule.status or 500
    headers = []
    if rule.retry_after is not None:
        headers.append((b"retry-after", str(rule.retry_after).encode()))
    if path.startswith("/_storage/"):
        body = StorageError(status, rule.code or "InternalError", rule.message or "").xml().encode()
        headers.append((b"content-type", b"application/xml"))
    else:
        code = rule.code or _default_code(status)
        error = ApiError(status, code, rule.message or "Injected fault")
        body = json.dumps(error.body()).encode()
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    return status, headers, body


async def _error(rule: FaultRule, path: str, send: Send) -> None:
    status, headers, body = error_reply(rule, path)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _default_code(status: int) -> str:
    return {
        400: "BadRequestError",
        401: "UnauthorizedError",
        403: "ForbiddenError",
        404: "ResourceNotFoundError",
        409: "ConflictError",
        429: "TooManyRequestsError",
    }.get(status, "InternalServerError")
