"""A provider, a recipe and a command installed as a third-party plugin (a `*.dist-info` folder with its
`entry_points.txt`, on the subprocess's PYTHONPATH) are treated exactly like built-ins by `distill recipes`,
`validate`, `run --dry-run` and `run`: the provider's own class says what it is — its keys, its short form, that
it runs in-process (so it costs nothing), that its hosted API needs a key in its own variable, that it has a batch
API — and every part of distill reads it from there, as it does for `local` or `openai`."""

from __future__ import annotations

import json
import os
import re

import pytest
from helpers import ROOT, distill, read_jsonl, write

PLUGIN = '''
import os
from itertools import islice

from distill.providers.base import Choice, Completion, Provider, Usage
from distill.providers.hosted import Hosted
from distill.providers.spec import ProviderSpec
from distill.recipes.base import Estimate, Recipe
from distill.run.folder import order_key
from distill.run.records import make_record


class ParrotSpec(ProviderSpec):
    provider: str = "parrot"
    voice: str = "plain"


class Parrot(Provider):
    """An in-process model that repeats the last user turn, loud or plain."""

    kind = "parrot"
    Spec = ParrotSpec
    in_process = True

    @classmethod
    def short_form(cls, model):
        return {"voice": model}  # parrot:loud

    async def complete(self, messages, params):
        with open(os.environ["PARROT_LOG"], "a") as log:
            log.write(messages[-1]["content"] + "\\n")
        text = messages[-1]["content"]
        text = text.upper() if self.spec.voice == "loud" else text
        return Completion(choices=[Choice(text=text, finish_reason="stop")] * params.n,
                          usage=Usage(prompt_tokens=3, completion_tokens=3))


class TollSpec(ProviderSpec):
    provider: str = "toll"
    api_key_env: str = "TOLL_API_KEY"


class Toll(Provider):
    """A hosted API that needs a key, with a batch API (OpenAI's wire format)."""

    kind = "toll"
    Spec = TollSpec
    needs_key = True
    hosted = Hosted("openai", frozenset({"api.toll.example"}), batch_factor=0.5)
    batch_backend = "openai"


class Shout(Recipe):
    """Repeat every instruction through the teacher (a plugin recipe)."""

    name = "shout"

    def preview(self, cfg, rows, limit):
        return [[{"role": "user", "content": "say: " + r.instruction}] for r in islice(rows, limit)]

    def estimate(self, cfg, rows):
        return Estimate(candidates=rows).add("teacher", rows)

    async def run(self):
        await self.ctx.map(self.ctx.inputs(), self.one)

    async def one(self, row):
        item = {"index": row.index, "instruction": row.instruction}
        messages = [{"role": "user", "content": "say: " + row.instruction}]
        reply = await self.ctx.call(order_key(row.index), "shout", item, self.ctx.teacher.complete(messages))
        if reply is None:
            return
        self.ctx.accept(order_key(row.index), "shout", make_record(
            instruction=row.instruction, input="", output=reply.choices[0].text,
            meta={"recipe": "shout", "teacher": self.ctx.teacher.spec.short_name()}))


from distill.executors.local import LocalExecutor


class Nearby(LocalExecutor):
    """An executor a plugin registers: the local one under another name."""

    def describe(self):
        return {"kind": self.spec.kind, "plugin": True}


def add_parser(sub):
    p = sub.add_parser("squawk", help="a plugin command")
    p.add_argument("word")
    p.set_defaults(handler=lambda args: print(args.word.upper()) or 0)
'''

ENTRY_POINTS = """\
[distill.providers]
parrot = parrot_plugin:Parrot
toll = parrot_plugin:Toll

[distill.recipes]
shout = parrot_plugin:Shout

[distill.commands]
squawk = parrot_plugin:add_parser

[distill.executors]
nearby = parrot_plugin:Nearby
"""


@pytest.fixture
def plugin(tmp_path) -> dict[str, str]:
    """The plugin installed the way pip installs one (its module and a dist-info folder), and its call log."""
    site = tmp_path / "site"
    write(site / "parrot_plugin.py", PLUGIN)
    info = site / "parrot_plugin-0.1.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: parrot-plugin\nVersion: 0.1\n")
    write(info / "entry_points.txt", ENTRY_POINTS)
    write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"hello {i}"}) + "\n" for i in range(3)))
    env = {k: v for k, v in os.environ.items() if k != "TOLL_API_KEY"}
    return {**env, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "PARROT_LOG": str(tmp_path / "calls.log")}


def _config(tmp_path, teacher: str) -> str:
    return str(write(tmp_path / "shout.yaml", f"recipe: shout\nteacher: {teacher}\ninput: {{path: in.jsonl}}\n"
                     f"out: {tmp_path / 'out'}\n"))


def _calls(tmp_path) -> int:
    log = tmp_path / "calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_the_plugin_is_listed_and_validated_like_a_built_in(tmp_path, plugin):
    listing = distill("recipes", env=plugin)
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"^shout +Repeat every instruction through the teacher \(a plugin recipe\)\.$",
                     listing.stdout, re.M), listing.stdout
    checked = distill("validate", _config(tmp_path, "'parrot:loud'"), env=plugin)
    assert checked.returncode == 0 and "ok | recipe shout" in checked.stdout, checked.stderr
    wrong = distill("validate", _config(tmp_path, "{provider: parrot, device: cpu}"), env=plugin)
    assert wrong.returncode == 2 and "only the transformers provider takes `device`, not parrot" in wrong.stderr
    schema = json.loads(distill("validate", "--schema", env=plugin).stdout)
    assert schema["x-provider-options"]["parrot"]["properties"]["voice"]["default"] == "plain"
    assert "shout" in schema["x-recipe-options"]


def test_a_plugin_providers_key_and_batch_api_are_its_own_declarations(tmp_path, plugin):
    """Like openai's: no key in its variable and no base_url is a config error; batch mode is allowed."""
    cfg = _config(tmp_path, "{provider: toll, model: m, batch: true}")
    missing = distill("validate", cfg, env=plugin)
    assert missing.returncode == 2, missing.stdout
    assert "toll:m: no API key. Set the environment variable TOLL_API_KEY" in missing.stderr, missing.stderr
    keyed = distill("validate", cfg, env={**plugin, "TOLL_API_KEY": "tk-test-not-real"})
    assert keyed.returncode == 0, keyed.stderr
    local = distill("validate", _config(tmp_path, "{provider: parrot, batch: true}"), env=plugin)
    assert local.returncode == 2 and "provider 'parrot' has no batch API" in local.stderr, local.stderr
    assert "batch mode works with: anthropic, openai, toll)" in local.stderr, local.stderr


def test_a_plugin_provider_and_recipe_dry_run_and_run_like_built_ins(tmp_path, plugin):
    cfg = _config(tmp_path, "'parrot:loud'")
    planned = distill("run", cfg, "--dry-run", env=plugin)
    assert planned.returncode == 0, planned.stderr
    assert "teacher calls: up to 3\n" in planned.stdout and "say: hello 0" in planned.stdout, planned.stdout
    assert "teacher cost: at most ~$0.0000 (in-process price)" in planned.stdout, planned.stdout
    assert _calls(tmp_path) == 0 and not (tmp_path / "out").exists()

    ran = distill("run", cfg, "--no-progress", env=plugin)
    assert ran.returncode == 0, ran.stderr
    out = tmp_path / "out"
    assert sorted(r["output"] for r in read_jsonl(out / "data.jsonl")) == [f"SAY: HELLO {i}" for i in range(3)]
    assert {r["meta"]["teacher"] for r in read_jsonl(out / "data.jsonl")} == {"parrot"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["prices"]["teacher"]["source"] == "in-process", manifest["prices"]
    assert manifest["teacher"]["kind"] == "parrot"
    assert _calls(tmp_path) == 3

    again = distill("run", cfg, "--no-progress", env=plugin)  # resumed from the cache: no call made again
    assert again.returncode == 0, again.stderr
    assert _calls(tmp_path) == 3 and len(read_jsonl(out / "data.jsonl")) == 3


def test_executor_flag_takes_a_plugin_executor_and_refuses_unknown_names_at_config_time(tmp_path, plugin):
    """`--executor NAME` of run and estimate: any registered executor, checked like the YAML's `executor:`."""
    cfg = _config(tmp_path, "'parrot:loud'")
    ran = distill("run", cfg, "--no-progress", "--executor", "nearby", env=plugin)
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["executor"] == {"kind": "nearby", "plugin": True}
    assert manifest["config"]["executor"]["kind"] == "nearby"
    for command in (("run", cfg, "--no-progress"), ("estimate", cfg, "--pilot", "1", "--num", "3")):
        wrong = distill(*command, "--executor", "naerby", env=plugin)
        assert wrong.returncode == 2, wrong.stdout + wrong.stderr
        assert "unknown executor 'naerby' (known: local, nearby, ray)" in wrong.stderr, wrong.stderr
        assert "invalid choice" not in wrong.stderr
    estimated = distill("estimate", cfg, "--pilot", "1", "--num", "3", "--executor", "nearby", env=plugin)
    assert estimated.returncode == 0, estimated.stderr


def test_a_plugin_command_runs_without_slowing_help(tmp_path, plugin):
    res = distill("squawk", "hello", env=plugin)
    assert res.returncode == 0 and res.stdout == "HELLO\n", res.stderr
    unknown = distill("nope", env=plugin)
    assert unknown.returncode == 2 and "invalid choice: 'nope'" in unknown.stderr, unknown.stderr
    code = "import sys; from distill.cli.main import main; main(['--help'])"
    import subprocess
    import sys

    helped = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                            env=plugin, cwd=ROOT)
    assert helped.returncode == 0 and "run" in helped.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in helped.stderr.splitlines() if "|" in line}
    assert {"importlib.metadata", "pydantic"}.isdisjoint(imported), "`--help` scans plugins or imports pydantic"
