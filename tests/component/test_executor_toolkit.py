"""The executor toolkit against a real server: run, fail with the exception text, shut down."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

from colonies.client import AsyncClient
from colonies.core import Conditions, FunctionSpec, ProcessState
from colonies.crypto import generate_private_key
from colonies.executor import Executor, ProcessContext, echo_executor
from tests.helpers import eventually


def _spec(colony: str, funcname: str, executortype: str, *args) -> FunctionSpec:
    return FunctionSpec(
        funcname=funcname,
        args=list(args),
        maxexectime=-1,
        maxwaittime=-1,
        maxretries=-1,
        conditions=Conditions(colonyname=colony, executortype=executortype),
    )


async def _final(client: AsyncClient, processid: str):
    async def finished():
        p = await client.get_process(processid)
        return p if p.state not in (ProcessState.WAITING, ProcessState.RUNNING) else None

    return await eventually(finished, "the process finishing")


async def test_functions_run_and_fail_with_exception_text(server, colony):
    key = generate_private_key()
    executor = Executor(
        server.url,
        key,
        colony=colony.name,
        name="py-1",
        executortype="py",
        colony_key=colony.owner,
        poll_timeout=2,
    )

    @executor.function
    def add(a, b):
        return a + b

    @executor.function
    async def chatty(ctx: ProcessContext, n):
        for i in range(n):
            await ctx.alog(f"line {i}")
        return "done"

    @executor.function
    def broken():
        raise ValueError("no such thing")

    serving = asyncio.create_task(executor.serve())
    async with AsyncClient(server.url, colony.user) as client:
        ok = await client.submit(_spec(colony.name, "add", "py", 2, 3))
        log = await client.submit(_spec(colony.name, "chatty", "py", 2))
        bad = await client.submit(_spec(colony.name, "broken", "py"))
        missing = await client.submit(_spec(colony.name, "nope", "py"))
        assert (await _final(client, ok.processid)).output == [5]
        assert (await _final(client, log.processid)).output == ["done"]
        logs = await client.get_logs(colony.name, processid=log.processid)
        assert [entry.message for entry in logs] == ["line 0", "line 1"]
        failed = await _final(client, bad.processid)
        assert failed.state == ProcessState.FAILED
        assert failed.errors == ["ValueError: no such thing"]
        assert "not registered" in (await _final(client, missing.processid)).errors[0]
        functions = {f.funcname for f in await client.get_functions(colony.name, "py-1")}
        assert functions == {"add", "chatty", "broken"}
    executor.stop()
    await asyncio.wait_for(serving, 15)


async def test_stop_fails_a_process_that_outlives_the_grace_period(server, colony):
    executor = echo_executor(
        server.url,
        generate_private_key(),
        colony=colony.name,
        name="slow-1",
        executortype="slow",
        colony_key=colony.owner,
        poll_timeout=2,
        grace_seconds=0.3,
    )
    started = asyncio.Event()

    @executor.function
    async def sleepy():
        started.set()
        await asyncio.sleep(30)

    serving = asyncio.create_task(executor.serve())
    async with AsyncClient(server.url, colony.user) as client:
        p = await client.submit(_spec(colony.name, "sleepy", "slow"))
        await asyncio.wait_for(started.wait(), 10)
        executor.stop()
        await asyncio.wait_for(serving, 15)
        final = await client.get_process(p.processid)
        assert final.state == ProcessState.FAILED
        assert final.errors == ["executor shut down before the process finished"]


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from colonies.executor import Executor
    url, key, colony_key, colony = sys.argv[1:5]
    ex = Executor(url, key, colony=colony, name="term-1", executortype="term",
                  colony_key=colony_key, poll_timeout=2, grace_seconds=5)

    @ex.function
    def work(seconds):
        print("started", flush=True)
        time.sleep(seconds)
        return "finished"

    ex.run()
    print("exited", flush=True)
    """
)


async def test_sigterm_finishes_the_running_process_then_exits(server, colony, tmp_path):
    script = tmp_path / "executor.py"
    script.write_text(SCRIPT)
    key = generate_private_key()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        server.url,
        key.text,
        colony.owner.text,
        colony.name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        async with AsyncClient(server.url, colony.user) as client:
            p = await client.submit(_spec(colony.name, "work", "term", 1))
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line.strip() == b"started"
            proc.send_signal(signal.SIGTERM)
            rest = await asyncio.wait_for(proc.stdout.read(), 20)
            assert b"exited" in rest
            assert await asyncio.wait_for(proc.wait(), 5) == 0
            final = await client.get_process(p.processid)
            assert final.state == ProcessState.SUCCESS and final.output == ["finished"]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
