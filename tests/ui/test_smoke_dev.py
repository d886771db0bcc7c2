from tests.conftest import function_spec
from tests.ui.conftest import new_browser


async def test_dev(chromium, server, ed_colony, server_key):
    c = ed_colony
    for i in range(3):
        await server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, f"fn{i}"))
    b = await new_browser(chromium, server)
    await b.sign_in(c.name, c.user)
    await b.add_key(c.owner)
    await b.add_key(server_key)
    for page in ["overview", "processes", "workflows", "submit", "executors", "schedules", "files", "blueprints", "users", "server", "keys"]:
        await b.open(page)
        await b.page.wait_for_timeout(700)
        await b.page.screenshot(path=f"/tmp/i19/{page}.png", full_page=True)
    print("\n".join(b.console)); print(b.errors)
    assert not b.errors
