"""A value the database cannot store is the request's fault: a clear 413, not a 500."""

from __future__ import annotations

from colonies.crypto import generate_private_key
from tests.helpers import expect_error


async def test_a_name_too_large_to_index_is_refused_with_413(server, server_key):
    owner = generate_private_key("ed25519")
    too_long = "x" * 300_000  # an index row holds at most about 2.7 kB
    colony = {"colonyid": owner.id, "name": too_long}
    await expect_error(
        server.rpc.call("addcolonymsg", server_key, colony=colony),
        413,
        starts="Failed to add colony, a value is too large to store",
    )
    # The server keeps serving, and nothing was stored.
    assert await server.rpc.call("getcoloniesmsg", server_key) == []
