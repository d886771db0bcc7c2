"""The dispatch registry: for each payloadtype its message type, the role it needs, its handler.

Authorization is declared here once per payloadtype (docs/protocol.md §4.2) and checked by the
dispatcher before the handler runs; handlers only do their work. Each handler module collects
its own routes (``routes = Registry()``); server/routes.py lists those modules and assembles
the server's registry from them.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from colonies.rpc.messages import Msg

if TYPE_CHECKING:
    from colonies.server.context import Context

M = TypeVar("M", bound=Msg)
# A handler: ``(ctx, msg)``, or ``(ctx, msg, nonce)`` when its own statement uses the
# request's nonce (server/replay.py).
H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


class Role(enum.Enum):
    NONE = "none"  # no signature (versionmsg, getserverinfomsg)
    SERVER_OWNER = "SO"
    COLONY_OWNER = "CO"
    MEMBER = "M"  # approved executor or user of the colony
    MEMBER_ANY = "M(any)"  # executor in any state, or user
    MEMBER_OR_OWNER = "M or CO"
    MEMBER_SELF = "M + self"  # approved member and the object's owner
    SELF = "self"  # the caller is the object's owner (executor or user named by the request)
    ASSIGNED_EXECUTOR = "AE"  # member and the process's assigned executor
    MEMBER_PARTY = "M + (initiator or AE)"  # channels: member and one of the process's parties


@dataclass(slots=True)
class Target:
    """What a request acts on: its colony and, where one was loaded, the object and its owner."""

    colonyname: str
    obj: Any = None
    owner_id: str | None = None  # the ID a SELF / AE caller must have
    parties: tuple[str, ...] = ()  # the IDs a MEMBER_PARTY caller must be one of
    denied: str = ""  # the 403 text for a caller outside ``parties``


Scope = Callable[["Context", Any], Awaitable[Target]]
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Route(Generic[M]):
    payloadtype: str
    msg_type: type[M]
    role: Role
    handler: Handler
    action: str  # "Failed to add colony": the start of this message's error texts
    scope: Scope | None
    reply_payloadtype: str
    # A subscription: its handler pushes replies to ctx.sink until it returns (on /pubsub
    # only, docs/protocol.md §6.18); other routes answer with one reply.
    subscription: bool
    payload_ignored: bool  # the payload is not decoded at all (getserverinfomsg, §3.7)
    changes_access: bool  # changes who is what in a colony: drop cached look-ups at once
    # The handler takes a third parameter, ``nonce``: the statement that carries the request
    # out uses it (server/replay.py).
    uses_nonce: bool


def _uses_nonce(payloadtype: str, handler: Handler) -> bool:
    """Whether ``handler`` is ``(ctx, msg, nonce)`` rather than ``(ctx, msg)``."""
    parameters = list(inspect.signature(handler).parameters)
    if len(parameters) == 3 and parameters[2] == "nonce":
        return True
    if len(parameters) != 2:
        raise ValueError(f"{payloadtype}: a handler takes (ctx, msg) or (ctx, msg, nonce)")
    return False


class Registry:
    def __init__(self) -> None:
        self.routes: dict[str, Route[Any]] = {}

    @classmethod
    def assemble(cls, parts: Iterable[Registry]) -> Registry:
        """One registry holding the routes of ``parts`` (a payloadtype at most once)."""
        registry = cls()
        for part in parts:
            for route in part.routes.values():
                registry.add(route)
        return registry

    def add(self, route: Route[Any]) -> None:
        if route.payloadtype in self.routes:
            raise ValueError(f"{route.payloadtype} registered twice")
        self.routes[route.payloadtype] = route

    def handles(
        self,
        payloadtype: str,
        msg_type: type[M],
        role: Role,
        *,
        action: str,
        scope: Scope | None = None,
        reply_payloadtype: str | None = None,
        subscription: bool = False,
        payload_ignored: bool = False,
        changes_access: bool = False,
    ) -> Callable[[H], H]:
        if role not in (Role.NONE, Role.SERVER_OWNER) and scope is None:
            raise ValueError(f"{payloadtype}: role {role.value} needs a scope")

        def register(handler: H) -> H:
            uses_nonce = _uses_nonce(payloadtype, handler)
            if uses_nonce and (subscription or role is Role.NONE):
                raise ValueError(f"{payloadtype}: only a signed RPC's statement can use a nonce")
            self.add(
                Route(
                    payloadtype,
                    msg_type,
                    role,
                    handler,
                    action,
                    scope,
                    reply_payloadtype or payloadtype,
                    subscription,
                    payload_ignored,
                    changes_access,
                    uses_nonce,
                )
            )
            return handler

        return register
