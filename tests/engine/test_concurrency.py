"""Calls at once follow what the endpoint keeps up with: a server that answers one request at a time is not
buried under max_concurrency calls that time out, are sent again and computed twice."""

from __future__ import annotations

import asyncio
import json

from helpers import distill, read_jsonl, recipe_yaml, write_instructions

from distill.engine.concurrency import AdaptiveSlots


def test_a_timeout_halves_the_calls_at_once_once_per_wave_and_answers_win_them_back():
    async def scenario() -> None:
        slots = AdaptiveSlots(16)
        epochs = [await slots.acquire() for _ in range(16)]
        assert slots.room == 0
        assert slots.timed_out(epochs[0])  # 16 in flight, one timed out: at most 8 from now on
        assert slots.limit == 8 and slots.lowest == 8
        assert not slots.timed_out(epochs[1])  # sent before the cut: the same news, no second cut
        for _ in range(16):
            slots.release()
        epoch = await slots.acquire()
        assert slots.timed_out(epoch)  # sent after the cut and timed out too: halve again (1 in flight -> 1)
        assert slots.limit == 1 and slots.lowest == 1
        slots.release()
        for _ in range(40):
            await slots.acquire()
            slots.release()
            slots.answered()
        assert 8 < slots.limit <= 16  # each full window of answers adds one
        for _ in range(2000):
            slots.answered()
        assert slots.limit == 16  # never above max_concurrency

    asyncio.run(scenario())


def test_waiters_are_served_in_order_and_a_cancelled_one_passes_its_slot_on():
    async def scenario() -> list[int]:
        slots = AdaptiveSlots(1)
        await slots.acquire()
        served: list[int] = []

        async def wait(i: int) -> None:
            await slots.acquire()
            served.append(i)
            slots.release()

        tasks = [asyncio.create_task(wait(i)) for i in range(4)]
        await asyncio.sleep(0)
        tasks[1].cancel()
        slots.release()
        await asyncio.gather(*tasks, return_exceptions=True)
        return served

    assert asyncio.run(scenario()) == [0, 2, 3]


def test_a_one_at_a_time_server_gets_every_answer_without_burying_it(tmp_path, teacher_server):
    """24 calls at max_concurrency 32 to a server that computes one at a time (0.15 s each) with a 1 s timeout:
    with a fixed 32 at once, most calls time out again and again behind copies the server still computes, and
    their retries run out (measured: 6 of 24 answered). Cutting the calls at once on timeouts gets every answer
    (measured: 24, with 58 computations: the first burst's abandoned copies are most of the waste)."""
    teacher_server.configure(serial=True, latency=0.15)
    inp = write_instructions(tmp_path / "in.jsonl", 24)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out,
                      teacher_extra="max_concurrency: 32\ntimeout: 1\nmax_retries: 3")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert len(read_jsonl(out / "data.jsonl")) == 24 and not read_jsonl(out / "failed.jsonl")
    usage = json.loads((out / "manifest.json").read_text())["usage"]["teacher"]
    assert usage["concurrency"] < 8  # what the run came down to, kept for the user
    assert "timeouts: teacher down to" in res.stdout + res.stderr
    assert teacher_server.stats()["computed"] < 3 * 24  # the first burst's abandoned copies, then few more
