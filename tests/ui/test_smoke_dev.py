from tests.conftest import function_spec
from tests.ui.conftest import new_browser


async def test_dev(chromium, server, ed_colony):
    c = ed_colony
    for i in range(3):
        await server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, f"fn{i}"))
    b = await new_browser(chromium, server)
    await b.sign_in(c.name, c.user)
    await b.page.wait_for_timeout(1500)
    await b.page.screenshot(path="/tmp/i19/overview.png", full_page=True)
    await b.open("processes")
    await b.page.wait_for_selector("#process-list[data-loaded]")
    await server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, "live"))
    await b.page.wait_for_timeout(1500)
    await b.page.screenshot(path="/tmp/i19/processes.png", full_page=True)
    print("\n".join(b.console)); print(b.errors)
