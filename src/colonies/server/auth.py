"""The role check of the dispatcher (docs/protocol.md §4): runs before any handler side effect."""

from __future__ import annotations

from colonies.core import ExecutorState
from colonies.rpc import RpcError
from colonies.server.context import Context
from colonies.server.registry import Role, Target

_MEMBER_ROLES = (Role.MEMBER, Role.MEMBER_SELF, Role.ASSIGNED_EXECUTOR, Role.MEMBER_PARTY)


def _denied(message: str) -> RpcError:
    return RpcError(403, f"Access denied, {message}")


async def authorize(ctx: Context, role: Role, target: Target | None) -> None:
    if role is Role.NONE:
        return
    if role is Role.SERVER_OWNER:
        if ctx.caller != await ctx.store.server.server_id():
            raise _denied("not server owner")
        return
    assert target is not None  # the registry refuses colony roles without a scope
    access = await ctx.state.access_cache.get(
        target.colonyname, ctx.caller, ctx.store.server.colony_access
    )
    if access is None:
        raise RpcError(403, f"Colony with name {target.colonyname} does not exists")
    ctx.access = access
    is_owner = access.colonyid == ctx.caller
    is_member = access.executor_state == ExecutorState.APPROVED or access.is_user

    if role is Role.COLONY_OWNER:
        if not is_owner:
            raise _denied("not colony owner")
    elif role is Role.MEMBER_ANY:
        if access.executor_state is None and not access.is_user:
            raise _denied(f"not a member of Colony with name {target.colonyname}")
    elif role is Role.MEMBER_OR_OWNER:
        if not (is_member or is_owner):
            raise _denied(f"not a member of Colony with name {target.colonyname}")
    elif role in _MEMBER_ROLES:
        if not is_member:
            raise _denied(f"not a member of Colony with name {target.colonyname}")
    if role is Role.ASSIGNED_EXECUTOR:
        if not target.owner_id:
            raise _denied("process is not assigned")
        if target.owner_id != ctx.caller:
            raise _denied("not assigned to this process")
    elif role is Role.MEMBER_PARTY and ctx.caller not in target.parties:
        raise RpcError(403, target.denied or "Access denied, not a party of this process")
    elif role in (Role.SELF, Role.MEMBER_SELF) and target.owner_id != ctx.caller:
        raise _denied("the caller is not the owner of this object")
