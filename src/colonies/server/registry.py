"""The dispatch registry: for each payloadtype its message type, the role it needs, its handler.

Authorization is declared here once per payloadtype (docs/protocol.md §4.2) and checked by the
dispatcher before the handler runs; handlers only do their work.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from colonies.rpc.messages import Msg

if TYPE_CHECKING:
    from colonies.server.context import Context

M = TypeVar("M", bound=Msg)


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
Handler = Callable[["Context", Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Route(Generic[M]):
    payloadtype: str
    msg_type: type[M]
    role: Role
    handler: Handler
    action: str  # "Failed to add colony": the start of this message's error texts
    scope: Scope | None
    reply_payloadtype: str
    websocket: bool  # served on /pubsub only
    payload_ignored: bool  # the payload is not decoded at all (getserverinfomsg, §3.7)
    changes_access: bool  # changes who is what in a colony: drop cached look-ups at once
    # The handler passes ctx.take_nonce() to the statement that acts, which records it (no
    # round trip of its own for the replay check); it must do so before any effect.
    nonce_in_statement: bool


class Registry:
    def __init__(self) -> None:
        self.routes: dict[str, Route[Any]] = {}

    def handles(
        self,
        payloadtype: str,
        msg_type: type[M],
        role: Role,
        *,
        action: str,
        scope: Scope | None = None,
        reply_payloadtype: str | None = None,
        websocket: bool = False,
        payload_ignored: bool = False,
        changes_access: bool = False,
        nonce_in_statement: bool = False,
    ) -> Callable[[Callable[[Context, M], Awaitable[Any]]], Callable[[Context, M], Awaitable[Any]]]:
        if role not in (Role.NONE, Role.SERVER_OWNER) and scope is None:
            raise ValueError(f"{payloadtype}: role {role.value} needs a scope")

        def register(
            fn: Callable[[Context, M], Awaitable[Any]],
        ) -> Callable[[Context, M], Awaitable[Any]]:
            if payloadtype in self.routes:
                raise ValueError(f"{payloadtype} registered twice")
            self.routes[payloadtype] = Route(
                payloadtype,
                msg_type,
                role,
                fn,
                action,
                scope,
                reply_payloadtype or payloadtype,
                websocket,
                payload_ignored,
                changes_access,
                nonce_in_statement,
            )
            return fn

        return register


registry = Registry()
