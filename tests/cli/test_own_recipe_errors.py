"""A recipe of your own that raises ends `distill run` with one paragraph, not a traceback: the recipe, the
exception and the line of your module, exit 1. The run folder keeps the records written so far and every answer
received, and the same command resumes without asking for those answers again."""

from __future__ import annotations

import json

from helpers import distill, read_jsonl, recipe_yaml, write

RAISING_RECIPE = '''
"""Answers each instruction, but breaks on one while a file named `broken` lies next to it."""
import asyncio
from pathlib import Path

from distill.recipes.base import Recipe
from distill.run.folder import order_key
from distill.run.records import make_record

BROKEN = Path(__file__).with_name("broken")


class Echo(Recipe):
    name = "echo"
    summary = "answer, and break on 'boom' while broken"

    async def run(self):
        await self.ctx.map(self.ctx.inputs(), self.one)

    async def one(self, row):
        messages = [{"role": "user", "content": row.instruction}]
        item = {"index": row.index, "instruction": row.instruction}
        reply = await self.ctx.call(order_key(row.index), "echo", item, self.ctx.teacher.complete(messages))
        if reply is None:
            return
        if "boom" in row.instruction and BROKEN.exists():
            await asyncio.sleep(1.0)  # the other items finish first
            raise ValueError("cannot echo " + row.instruction)
        self.ctx.accept(order_key(row.index), "echo", make_record(
            instruction=row.instruction, input="", output=reply.choices[0].text, meta={"recipe": "echo"}))
'''

DIRECT_CALL_RECIPE = '''
from distill.recipes.base import Recipe


class Direct(Recipe):
    name = "direct"
    summary = "calls the teacher without ctx.call"

    async def run(self):
        await self.ctx.map(self.ctx.inputs(), self.one)

    async def one(self, row):
        await self.ctx.teacher.complete([{"role": "user", "content": row.instruction}])
'''


def _line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def test_an_exception_in_your_recipe_is_one_paragraph_and_the_rerun_resumes(tmp_path, teacher_server):
    module = write(tmp_path / "echo.py", RAISING_RECIPE)
    write(tmp_path / "broken", "")
    rows = [f"Hello {i}" for i in range(5)] + ["boom now"]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in rows))
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out)
    cfg.write_text(cfg.read_text().replace("recipe: respond", "recipe: echo.py:Echo"))

    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    message = res.stderr.strip()
    assert "\n" not in message.removeprefix("error: ")  # one paragraph
    line = _line_of(RAISING_RECIPE, 'raise ValueError("cannot echo "')
    assert ("recipe echo.py:Echo raised ValueError: cannot echo boom now, "
            f"at {module}:{line} (in one)") in message, message
    assert "run the same command again" in message
    partial = read_jsonl(out / "data.jsonl.partial")  # the records written before it raised are kept
    assert sorted(r["instruction"] for r in partial) == rows[:5]
    assert (out / "cache.sqlite").exists() and not (out / "data.jsonl").exists()
    assert teacher_server.stats()["answered"] == 6

    (tmp_path / "broken").unlink()  # the recipe is fixed: the same command resumes
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert sorted(r["instruction"] for r in read_jsonl(out / "data.jsonl")) == sorted(rows)
    assert teacher_server.stats()["answered"] == 6  # no received answer was asked for again
    assert "calls 0 new" in res.stdout, res.stdout


def test_a_failed_call_outside_ctx_call_names_your_line_and_says_how_to_keep_going(tmp_path, teacher_server):
    module = write(tmp_path / "direct.py", DIRECT_CALL_RECIPE)
    teacher_server.configure(fail=1.0)
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hi"}) + "\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    cfg.write_text(cfg.read_text().replace("recipe: respond", "recipe: direct.py:Direct")
                   .replace("max_retries: 8", "max_retries: 0"))
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    line = _line_of(DIRECT_CALL_RECIPE, "await self.ctx.teacher.complete")
    assert "recipe direct.py:Direct raised CallFailed: teacher call failed after 1 attempt(s)" in res.stderr
    assert f"at {module}:{line} (in one)" in res.stderr
    assert "outside `ctx.call(...)` or `with ctx.guard(...)`" in res.stderr


def test_a_recipe_module_that_fails_to_import_is_refused_at_its_line(tmp_path, teacher_server):
    module = write(tmp_path / "bad.py", "from distill.recipes.base import Recipe\n\nSETTING = undefined_name\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, write(tmp_path / "in.jsonl", ""), tmp_path / "run")
    cfg.write_text(cfg.read_text().replace("recipe: respond", "recipe: bad.py:Bad"))
    for command in (["validate", str(cfg)], ["run", str(cfg), "--no-progress"]):
        res = distill(*command)
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr
        assert "NameError: name 'undefined_name' is not defined" in res.stderr
        assert f"at {module}:3" in res.stderr
    assert not (tmp_path / "run").exists()
