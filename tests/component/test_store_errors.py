"""A value the database cannot store is the request's fault: a clear 413, not a 500."""

from __future__ import annotations

import random

from colonies.crypto import generate_private_key
from tests.helpers import expect_error


async def test_a_name_too_large_to_index_is_refused_with_413(server, server_key):
    """Names are limited at the door (core/limits.py) far below what an index holds; a file's
    label and name (1,024 characters each) can still be too large together, in 4-byte
    characters that do not compress."""
    owner = generate_private_key("ed25519")
    await server.rpc.call("addcolonymsg", server_key, colony={"colonyid": owner.id, "name": "c"})
    user = generate_private_key("ed25519")
    await server.rpc.call(
        "addusermsg", owner, user={"colonyname": "c", "userid": user.id, "name": "u"}
    )
    pick = random.Random(13)
    label, name = (
        "".join(chr(pick.randrange(0x20000, 0x2A6DF)) for _ in range(1024)) for _ in "ln"
    )
    file = {"colonyname": "c", "label": "/" + label[1:], "name": name, "fileid": "f" * 64}
    error = await expect_error(
        server.rpc.call("addfilemsg", user, file=file),
        413,
        starts="Failed to add file, a value is too large to store",
    )
    assert "index" not in error.message  # the database's own words stay in its log
    # The server keeps serving, and nothing was stored.
    assert await server.rpc.call("getfilesmsg", user, colonyname="c", label="/" + label[1:]) == []
