from colonies.client import ColoniesError


async def test_colony_roundtrip(server, colony, server_key):
    got = await server.rpc.call("getcolonymsg", colony.executor, colonyname=colony.name)
    assert got == {"colonyid": colony.owner.id, "name": colony.name}
    try:
        await server.rpc.call(
            "addcolonymsg", colony.executor, colony={"colonyid": "a" * 64, "name": "x"}
        )
    except ColoniesError as exc:
        assert exc.status == 403 and exc.message.startswith("Access denied")
    else:
        raise AssertionError("expected 403")
