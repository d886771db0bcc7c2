"""The /ui dashboard in a real Chromium: the browser signs with its own key (docs/ui.md).

What the page does is checked from Python through the project's SDK and the server's own
verification code, not by trusting what the page shows."""

from __future__ import annotations

import asyncio
import json
import time
from base64 import b64decode
from typing import Any

import pytest

from colonies.client import AsyncRpc
from colonies.crypto import generate_private_key, recover_caller_id
from colonies.rpc import decode_request
from colonies.server.ui import CONTENT_SECURITY_POLICY
from tests.helpers import VECTORS, Colony, RunningServer, function_spec, make_colony
from tests.ui.conftest import CHROMIUM_ARGS, Browser, new_browser

pytestmark = pytest.mark.timeout(120)

SECP256K1_N = int(VECTORS["secp256k1"]["curve_order_n"], 16)


async def executor_run(rpc: AsyncRpc, colony: Colony) -> dict[str, Any]:
    """The colony's executor takes the next waiting process."""
    return dict(
        await rpc.call(
            "assignprocessmsg",
            colony.executor,
            colonyname=colony.name,
            timeout=5,
            availablecpu="",
            availablemem="",
        )
    )


async def text_of(browser: Browser, selector: str) -> str:
    return str(await browser.page.text_content(selector))


# --- signatures made in the browser, verified by the server's code ------------------------


async def test_browser_signatures_of_the_test_vectors_verify_with_the_server_code(
    browser: Browser,
) -> None:
    await browser.open("keys")
    keys = [k["private_key"] for k in VECTORS["secp256k1"]["keys"]]
    keys += [m["private_key"] for m in VECTORS["secp256k1"]["message_signatures"]]
    keys += ["ed25519:" + v["seed"] for v in VECTORS["ed25519"]["vectors"]]
    messages = ["hello"] + [e["payload_base64"] for e in VECTORS["secp256k1"]["envelopes"]]
    messages += [v["payload_base64"] for v in VECTORS["ed25519"]["vectors"]]
    result = await browser.page.evaluate(
        """async ([keys, messages, hashes]) => {
            const k = await import("/ui/js/keys.js");
            const rpc = await import("/ui/js/rpc.js");
            const out = {hashes: hashes.map((text) => k.sha3Hex(text)), keys: []};
            for (const text of keys) {
                const identity = await k.parsePrivateKey(text);
                const signatures = [];
                for (const m of messages) signatures.push(await identity.sign(m));
                const envelope = await rpc.signEnvelope(
                    "getcolonymsg", {colonyname: "vectors"}, identity);
                out.keys.push({text, id: identity.id, publicHex: identity.publicHex,
                               scheme: identity.scheme, signatures, envelope});
            }
            return out;
        }""",
        [keys, messages, [h["input_ascii"] for h in VECTORS["sha3_256"]]],
    )
    assert result["hashes"] == [h["sha3_256_hex"] for h in VECTORS["sha3_256"]]
    expected_ids = {k["private_key"]: k["id"] for k in VECTORS["secp256k1"]["keys"]}
    expected_ids |= {
        m["private_key"]: m["expected_id"] for m in VECTORS["secp256k1"]["message_signatures"]
    }
    expected_ids |= {"ed25519:" + v["seed"]: v["id"] for v in VECTORS["ed25519"]["vectors"]}
    assert len(result["keys"]) == len(keys)
    for made in result["keys"]:
        assert made["id"] == expected_ids[made["text"]], made["text"]
        for message, signature in zip(messages, made["signatures"], strict=True):
            # The server's own verification derives the vector's ID from the browser's signature.
            assert recover_caller_id(signature, message.encode("ascii")) == made["id"]
            if made["scheme"] == "secp256k1":
                assert len(signature) == 130
                assert int(signature[64:128], 16) <= SECP256K1_N // 2  # low-S
            else:
                assert len(signature) == 192 and signature[:64] == made["publicHex"]
        # A whole envelope: decoded and verified as the dispatcher does; replay fields signed.
        envelope = decode_request(made["envelope"])
        assert recover_caller_id(envelope.signature, envelope.payload.encode()) == made["id"]
        payload = json.loads(b64decode(envelope.payload))
        assert payload["msgtype"] == envelope.payloadtype == "getcolonymsg"
        assert payload["colonyname"] == "vectors"
        assert len(payload["nonce"]) == 32
        assert abs(payload["timestamp"] - time.time_ns()) < 60 * 10**9
    # Ed25519 is deterministic: the browser's WebCrypto gives the vectors' very bytes.
    ed = [m for m in result["keys"] if m["scheme"] == "ed25519"]
    for made, vector in zip(ed, VECTORS["ed25519"]["vectors"], strict=True):
        index = messages.index(vector["payload_base64"])
        assert made["signatures"][index] == vector["signature_field"]
        assert made["signatures"][0] == vector["hello"]["signature_field"]
    # A signature that is not the signer's own is still refused by the server's code.
    with pytest.raises(ValueError):
        recover_caller_id(ed[0]["signatures"][0], b"hellO")


# --- sign-in -------------------------------------------------------------------------------


async def test_wrong_or_malformed_key_gets_the_refusal(browser: Browser, ed_colony: Colony) -> None:
    page = browser.page
    await browser.open("keys")
    await page.fill("#colony-name", ed_colony.name)
    await page.fill("#private-key", "not a key")
    await page.click("#sign-in")
    await page.wait_for_selector("#signin-error:not([hidden])")
    assert "Not a private key" in await text_of(browser, "#signin-error")
    stranger = generate_private_key()
    await page.fill("#private-key", stranger.text)
    await page.click("#sign-in")
    await page.wait_for_function(
        "() => document.querySelector('#signin-error').textContent.includes('Refused')"
    )
    message = await text_of(browser, "#signin-error")
    assert stranger.id in message and "Access denied" in message
    assert stranger.text not in message  # the key itself is never shown back
    assert await page.get_attribute("#view", "data-page") == "keys"
    # Nothing is kept of a refused key.
    assert await page.evaluate("sessionStorage.getItem('colonies.keys')") is None
    # The colony's owner key alone is let in (it may act as owner, not as member).
    await page.fill("#private-key", ed_colony.owner.text)
    await page.click("#sign-in")
    await page.wait_for_selector('#view[data-page="overview"]')
    assert "colony owner" in await text_of(browser, "#whoami")
    assert "colony member" not in await text_of(browser, "#whoami")


async def test_key_kept_in_memory_tab_or_device(
    chromium: Any, server: RunningServer, ed_colony: Colony
) -> None:
    # Memory only: a reload signs out.
    b = await new_browser(chromium, server)
    await b.sign_in(ed_colony.name, ed_colony.user, keep="memory")
    await b.page.reload()
    await b.page.wait_for_selector('#view[data-page="keys"]')
    assert await b.page.query_selector("#sign-in") is not None
    # This tab: the key survives a reload, in session storage only.
    await b.sign_in(ed_colony.name, ed_colony.user, keep="tab")
    await b.page.reload()
    await b.page.wait_for_selector('#view[data-page="overview"]')
    assert await b.page.evaluate("localStorage.getItem('colonies.keys')") is None
    await b.page.click("#sign-out")
    await b.page.wait_for_selector("#sign-in")
    assert await b.page.evaluate("sessionStorage.getItem('colonies.keys')") is None
    # This device: a non-extractable WebCrypto key in IndexedDB; the seed is stored nowhere.
    await b.sign_in(ed_colony.name, ed_colony.user, keep="device")
    stored = await b.page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("colonies-ui", 1);
            open.onsuccess = () => {
                const all = open.result.transaction("keys").objectStore("keys").getAll();
                all.onsuccess = () => resolve(all.result.map((k) => ({
                    id: k.id, extractable: k.privateKey.extractable,
                    type: k.privateKey.type, algorithm: k.privateKey.algorithm.name})));
            };
        })"""
    )
    assert stored == [
        {"id": ed_colony.user.id, "extractable": False, "type": "private", "algorithm": "Ed25519"}
    ]
    dump = await b.page.evaluate(
        "JSON.stringify({...sessionStorage}) + JSON.stringify({...localStorage})"
    )
    assert ed_colony.user.hex not in dump
    second = await b.page.context.new_page()  # another tab: signed in from the device key
    await second.goto(f"{server.url}/ui/#/overview")
    await second.wait_for_selector('#view[data-page="overview"] #stats .counters')
    await b.page.click("#sign-out")
    await b.page.wait_for_selector("#sign-in")
    await second.reload()
    await second.wait_for_selector('#view[data-page="keys"]')


async def test_generated_identity_is_registered_by_the_owner_and_signs_in(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    page = browser.page
    await browser.open("keys")
    await page.fill("#colony-name", ed_colony.name)
    await page.click("#generate")
    await page.wait_for_selector("#generated-id")
    new_id = (await text_of(browser, "#generated-id")).strip()
    assert len(new_id) == 64
    await page.click("#use-generated")  # not registered yet: refused
    await page.wait_for_function(
        "() => document.querySelector('#generated .notice, #view .notice.error') !== null"
    )
    assert "Refused" in await page.inner_text("#view")
    await server.rpc.call(
        "addusermsg",
        ed_colony.owner,
        user={"colonyname": ed_colony.name, "userid": new_id, "name": "browser-made"},
    )
    await page.click("#use-generated")
    await page.wait_for_selector('#view[data-page="overview"]')
    assert "colony member" in await text_of(browser, "#whoami")


# --- live pages ------------------------------------------------------------------------------


async def test_process_submitted_from_python_appears_and_finishes(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    page = browser.page
    await browser.sign_in(c.name, c.user)
    await browser.open("processes?state=0")
    await page.wait_for_selector("#process-list[data-loaded]")
    await page.wait_for_selector('#connection[data-state="live"]')
    process = await server.rpc.call(
        "submitfuncspecmsg", c.user, spec=function_spec(c, "from_python", args=[1, 2])
    )
    row = f'tr[data-processid="{process["processid"]}"]'
    await page.wait_for_selector(row)  # pushed over /pubsub, no reload
    assert "from_python" in await text_of(browser, row)
    assigned = await executor_run(server.rpc, c)
    assert assigned["processid"] == process["processid"]
    await page.wait_for_selector(row, state="detached")  # no longer waiting
    await browser.open("processes?state=2")
    await page.wait_for_selector("#process-list[data-loaded]")
    await server.rpc.call("closesuccessfulmsg", c.executor, processid=process["processid"], out=[3])
    await page.wait_for_selector(row)
    await page.click(f"{row} a")
    await page.wait_for_selector('#process-state [data-state="2"]')
    assert json.loads(await text_of(browser, "#output")) == [3]
    assert json.loads(await text_of(browser, "#input")) == []
    assert "from_python" in await text_of(browser, "#spec")


async def test_follow_a_log_live(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    page = browser.page
    process = await server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, "talker"))
    pid = process["processid"]
    await browser.sign_in(c.name, c.user)
    await browser.open(f"process/{pid}")
    await page.wait_for_selector('#process-state [data-state="0"]')
    assert await page.is_checked("#follow")
    await executor_run(server.rpc, c)
    await page.wait_for_selector('#process-state [data-state="1"]')  # pushed state change
    await server.rpc.call("addlogmsg", c.executor, processid=pid, message="step 1 of 2: loading")
    await page.wait_for_function(
        "() => document.querySelector('#log').textContent.includes('step 1')"
    )
    await server.rpc.call(
        "addlogmsg", c.executor, processid=pid, message="step 2 of 2: <b>done</b>"
    )
    await page.wait_for_function(
        "() => document.querySelector('#log').textContent.includes('step 2')"
    )
    assert await page.query_selector("#log b") is None  # log text is text, not markup
    await server.rpc.call("closesuccessfulmsg", c.executor, processid=pid, out=[])
    await page.wait_for_selector('#process-state [data-state="2"]')
    await page.wait_for_selector("#log .log-line >> nth=1")  # the finished page reads it whole
    lines = await page.eval_on_selector_all("#log .log-line", "els => els.map(e => e.textContent)")
    assert len(lines) == 2 and "loading" in lines[0] and "<b>done</b>" in lines[1]


async def test_failed_workflow_shows_its_error_and_graph(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    page = browser.page
    steps = [
        function_spec(c, "fetch", nodename="fetch"),
        function_spec(c, "train", nodename="train", conditions={"dependencies": ["fetch"]}),
        function_spec(c, "report", nodename="report", conditions={"dependencies": ["train"]}),
    ]
    graph = await server.rpc.call(
        "submitworkflowspecmsg", c.user, spec={"colonyname": c.name, "functionspecs": steps}
    )
    await browser.sign_in(c.name, c.user)
    await browser.open(f"workflow/{graph['processgraphid']}")
    await page.wait_for_selector("#dag g.node")
    assert await page.eval_on_selector_all("#dag g.node", "ns => ns.length") == 3
    assert await page.eval_on_selector_all("#dag path.edge", "es => es.length") == 2
    first = await executor_run(server.rpc, c)
    assert first["spec"]["nodename"] == "fetch"
    await server.rpc.call(
        "closefailedmsg", c.executor, processid=first["processid"], errors=["disk full on node 7"]
    )
    await page.wait_for_function(  # reloaded on the pushed events
        "() => document.querySelector('#workflow-errors')?.textContent.includes('disk full')"
    )
    assert "fetch: disk full on node 7" in await text_of(browser, "#workflow-errors")
    failed = await page.get_attribute(
        f'#dag g.node[data-processid="{first["processid"]}"]', "data-state"
    )
    assert failed == "failed"
    stored = await server.rpc.call(
        "getprocessgraphmsg", c.user, processgraphid=graph["processgraphid"]
    )
    assert stored["state"] == 3
    await page.wait_for_selector('#workflow-state [data-state="3"]')


async def test_approve_executor_and_check_it_from_python(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    page = browser.page
    newcomer = generate_private_key()
    await server.rpc.call(
        "addexecutormsg",
        c.owner,
        executor={
            "executorid": newcomer.id,
            "executorname": "gpu-box",
            "executortype": "gpu",
            "colonyname": c.name,
            "locationname": "lab",
        },
    )
    await browser.sign_in(c.name, c.user)
    await browser.open("executors")
    row = 'tr[data-executor="gpu-box"]'
    await page.wait_for_selector(row)
    assert "pending" in await text_of(browser, row)
    approve = page.locator(f"{row} button", has_text="Approve")
    assert await approve.is_disabled()  # a member's key cannot approve
    await browser.add_key(c.owner)
    await browser.open("executors")
    await page.locator(f"{row} button", has_text="Approve").click()
    await page.wait_for_function(
        f"() => document.querySelector('{row} [data-state]').dataset.state === '1'"
    )
    executor = await server.rpc.call(
        "getexecutormsg", c.user, colonyname=c.name, executorname="gpu-box"
    )
    assert executor["state"] == 1
    await page.locator(f"{row} button", has_text="Reject").click()
    await page.wait_for_function(
        f"() => document.querySelector('{row} [data-state]').dataset.state === '2'"
    )
    executors = await server.rpc.call("getexecutorsmsg", c.user, colonyname=c.name)
    assert {e["executorname"]: e["state"] for e in executors}["gpu-box"] == 2


async def test_submit_cancel_remove_and_pause_from_the_page(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    page = browser.page
    await browser.sign_in(c.name, c.user)
    await browser.add_key(c.owner)
    await browser.open("submit")
    await page.fill('#spec-form [name="funcname"]', "resize")
    await page.fill('#spec-form [name="executortype"]', c.executor_type)
    await page.fill('#spec-form [name="args"]', '["a.png", 640]')
    await page.fill('#spec-form [name="kwargs"]', "not json")
    await page.click("#submit-form")
    await page.wait_for_selector("#submit-result.error")
    assert "not valid JSON" in await text_of(browser, "#submit-result")
    await page.fill('#spec-form [name="kwargs"]', '{"quality": 80}')
    await page.click("#submit-form")
    await page.wait_for_selector('#view[data-page="process"] #process-id')
    pid = (await text_of(browser, "#process-id")).strip()
    stored = await server.rpc.call("getprocessmsg", c.user, processid=pid)
    assert stored["spec"]["args"] == ["a.png", 640]
    assert stored["spec"]["kwargs"] == {"quality": 80}
    assert stored["initiatorname"] == c.user_name  # signed by the browser's member key
    await page.locator("button", has_text="Cancel").click()
    await page.wait_for_selector('#process-state [data-state="4"]')
    assert (await server.rpc.call("getprocessmsg", c.user, processid=pid))["state"] == 4
    await page.locator("button", has_text="Remove").click()
    await page.wait_for_function(
        "() => document.querySelector('#view').textContent.includes('not found')"
    )
    # JSON form: a workflow spec.
    await browser.open("submit?kind=workflow")
    spec = {
        "colonyname": c.name,
        "functionspecs": [function_spec(c, "a", nodename="a"), function_spec(c, "b", nodename="b")],
    }
    await page.fill("#spec-json", json.dumps(spec))
    await page.click("#submit-json")
    await page.wait_for_selector('#view #dag g.node[data-state="waiting"]')
    graphs = await server.rpc.call(
        "getprocessgraphsmsg", c.user, colonyname=c.name, count=10, state=0
    )
    assert len(graphs) == 1
    # Pause and resume assignments with the owner's key.
    await browser.open("overview")
    await page.locator("#pause button", has_text="Pause assignments").click()
    await page.wait_for_function(
        "() => document.querySelector('#pause-state').textContent === 'paused'"
    )
    status = await server.rpc.call("getpausestatusmsg", c.user, colonyname=c.name)
    assert status["ispaused"] is True
    await page.locator("#pause button", has_text="Resume assignments").click()
    await page.wait_for_function(
        "() => document.querySelector('#pause-state').textContent === 'running'"
    )
    status = await server.rpc.call("getpausestatusmsg", c.user, colonyname=c.name)
    assert status["ispaused"] is False


async def test_crons_added_run_and_removed_from_the_page(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    page = browser.page
    await browser.sign_in(c.name, c.user)
    await browser.open("schedules")
    await page.wait_for_selector("#cron-list .empty")
    await page.fill('#cron-form [name="name"]', "nightly")
    await page.fill('#cron-form [name="cronexpression"]', "0 0 3 * * *")
    workflow = {
        "colonyname": c.name,
        "functionspecs": [function_spec(c, "backup", nodename="backup")],
    }
    await page.fill('#cron-form [name="workflowspec"]', json.dumps(workflow))
    await page.click("#add-cron")
    row = 'tr[data-cron="nightly"]'
    await page.wait_for_selector(row)
    crons = await server.rpc.call("getcronsmsg", c.user, colonyname=c.name, count=10)
    assert [x["name"] for x in crons] == ["nightly"]
    await page.locator(f"{row} button", has_text="Run now").click()
    await page.wait_for_function(
        "() => document.querySelector('#view .notice.ok')?.textContent.includes('Ran cron nightly')"
    )
    graphs = await server.rpc.call(
        "getprocessgraphsmsg", c.user, colonyname=c.name, count=10, state=0
    )
    assert len(graphs) == 1
    await page.locator(f"{row} button", has_text="Remove").click()
    await page.wait_for_selector(row, state="detached")
    assert await server.rpc.call("getcronsmsg", c.user, colonyname=c.name, count=10) == []


# --- zero trust: no credentials but the signature, nothing from elsewhere -----------------------


async def test_requests_carry_no_cookie_or_bearer_and_stay_on_the_origin(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    await server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, "x"))
    await browser.sign_in(c.name, c.user)
    for route in ("processes", "executors", "schedules", "users"):
        await browser.open(route)
        await browser.page.wait_for_timeout(300)
    await browser.open("processes")
    await browser.page.wait_for_selector('#connection[data-state="live"]')
    api_calls = 0
    assert browser.requests
    for request in browser.requests:
        assert request.url.startswith(server.url + "/"), request.url  # same origin only
        headers = await request.all_headers()
        assert "cookie" not in headers and "authorization" not in headers, (request.url, headers)
        if request.url.endswith("/api"):
            api_calls += 1
            assert request.method == "POST"
            envelope = json.loads(request.post_data or "")
            assert len(envelope["signature"]) in (130, 192)
    assert api_calls > 5
    for response in browser.responses:
        assert "set-cookie" not in await response.all_headers(), response.url
    assert [ws.url for ws in browser.websockets]
    assert all(ws.url == server.url.replace("http", "ws") + "/pubsub" for ws in browser.websockets)
    assert await browser.page.evaluate("document.cookie") == ""


async def test_csp_header_is_sent_and_enforced(browser: Browser, server: RunningServer) -> None:
    response = await browser.page.goto(f"{server.url}/ui/")
    assert response is not None
    headers = await response.all_headers()
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
    ):
        assert directive in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in headers
    await browser.page.wait_for_selector("#sign-in")
    outcome = await browser.page.evaluate(
        """async () => {
            const violations = [];
            document.addEventListener("securitypolicyviolation",
                (e) => violations.push(e.violatedDirective));
            let htmlSink = "allowed";
            try { document.body.insertAdjacentHTML("beforeend", "<b id=injected>x</b>"); }
            catch (e) { htmlSink = e.name; }
            const s = document.createElement("script");
            let inline = "allowed";
            try { s.textContent = "window.__inline = 1"; document.body.append(s); }
            catch (e) { inline = e.name; }
            const img = document.createElement("img");
            img.src = "https://example.invalid/pixel.png";
            document.body.append(img);
            await new Promise((r) => setTimeout(r, 300));
            return {htmlSink, inline, ran: window.__inline === 1,
                    injected: !!document.getElementById("injected"), violations};
        }"""
    )
    assert outcome["htmlSink"] == "TypeError"  # Trusted Types: no HTML from strings
    assert outcome["inline"] == "TypeError" and not outcome["ran"]
    assert not outcome["injected"]
    assert any(v.startswith("img-src") for v in outcome["violations"])
    browser.errors.clear()  # the page's own script logged none of these


async def test_server_data_is_rendered_as_text(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    process = await server.rpc.call(
        "submitfuncspecmsg", c.user, spec=function_spec(c, evil, args=[evil], label=evil)
    )
    await browser.sign_in(c.name, c.user)
    await browser.open("processes")
    row = f'tr[data-processid="{process["processid"]}"]'
    await browser.page.wait_for_selector(row)
    assert evil in await text_of(browser, row)
    await browser.open(f"process/{process['processid']}")
    await browser.page.wait_for_selector("#spec")
    assert evil in await browser.page.inner_text("#view")  # the function's name, as text
    assert "<script>window.__pwned=2</script>" in await text_of(browser, "#spec")
    assert await browser.page.query_selector("#view img, #view script") is None
    assert await browser.page.evaluate("window.__pwned") is None


async def test_secp256k1_key_signs_in_and_works(
    browser: Browser, server: RunningServer, server_key: Any
) -> None:
    c = await make_colony(server.rpc, server_key, "secp256k1", name="secp")
    process = await server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, "k1"))
    await browser.sign_in(c.name, c.user)
    await browser.open("processes")
    await browser.page.wait_for_selector(f'tr[data-processid="{process["processid"]}"]')
    await browser.page.wait_for_selector('#connection[data-state="live"]')


async def test_refused_outside_a_secure_context(chromium: Any, server: RunningServer) -> None:
    # A name that is not localhost, mapped to the loopback server: plain HTTP there is not a
    # secure context, and the page must refuse to take a key.
    del chromium
    from playwright.async_api import async_playwright

    from tests.ui.conftest import CHROMIUM

    args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP dashboard.test 127.0.0.1"]
    async with async_playwright() as p:
        other = await p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = await other.new_page()
            await page.goto(f"http://dashboard.test:{server.port}/ui/")
            await page.wait_for_selector("#insecure")
            assert await page.evaluate("window.isSecureContext") is False
            assert "secure context" in str(await page.text_content("#insecure"))
            assert await page.query_selector("#private-key") is None
        finally:
            await other.close()


async def test_a_long_list_shows_the_first_hundred_and_says_how_many(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    for i in range(0, 120, 20):
        await asyncio.gather(
            *(
                server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, f"bulk-{n}"))
                for n in range(i, i + 20)
            )
        )
    await browser.sign_in(c.name, c.user)
    await browser.open("processes?state=0")
    await browser.page.wait_for_function(
        "() => document.querySelector('#list-summary').textContent.includes('of 120')"
    )
    assert "first 100 of 120" in await text_of(browser, "#list-summary")
    assert await browser.page.eval_on_selector_all("#process-list tbody tr", "r => r.length") == 100
    assert await text_of(browser, '#state-tabs [data-state="0"] .tab-count') == "120"
    await browser.page.fill("#find", "bulk-7")  # bulk-7 and bulk-70..79 among the first 100
    shown = await browser.page.eval_on_selector_all("#process-list tbody tr", "r => r.length")
    assert 1 <= shown <= 11


async def test_overview_counts_and_throughput_follow_the_colony(
    browser: Browser, ed_colony: Colony, server: RunningServer
) -> None:
    c = ed_colony
    await browser.sign_in(c.name, c.user)
    await browser.page.wait_for_selector("#stats .counters")
    assert await text_of(browser, '[data-key="waitingprocesses"] .count') == "0"
    assert await text_of(browser, "#throughput") == "0 / min"
    for _ in range(3):
        await server.rpc.call("submitfuncspecmsg", c.user, spec=function_spec(c, "tick"))
    await browser.page.wait_for_function(  # counts follow the pushed events
        "() => document.querySelector('[data-key=\"waitingprocesses\"] .count').textContent === '3'"
    )
    for _ in range(2):
        p = await executor_run(server.rpc, c)
        await server.rpc.call("closesuccessfulmsg", c.executor, processid=p["processid"], out=[])
    await browser.page.wait_for_function(
        "() => document.querySelector('[data-key=\"successfulprocesses\"] .count')"
        ".textContent === '2'"
    )
    await browser.open("processes")  # throughput is read when the page opens, then polled
    await browser.open("overview")
    await browser.page.wait_for_function(
        "() => document.querySelector('#throughput')?.textContent === '2 / min'"
    )
    assert "1 online of 1 approved" in await text_of(browser, "#online")
