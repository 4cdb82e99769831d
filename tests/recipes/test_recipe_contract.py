"""The recipe contract, for every recipe the registry knows: `distill run CONFIG --dry-run` previews and estimates
each one (its shipped recipes/NAME.yaml, else a minimal config), and a recipe lacking preview or estimate cannot
be registered. A plugin from the `distill.recipes` entry-point group, installed here as a `*.dist-info` folder on
the subprocess's PYTHONPATH, is listed, validated and dry-run like a built-in."""

from __future__ import annotations

import json
import os
import re

import pytest
from helpers import ROOT, distill, write

from distill.errors import InputError
from distill.recipes import registry
from distill.recipes.registry import recipe_class, registered

CALLS = re.compile(r"^teacher calls: (up to|about) (\d+)(?:, (\d+) samples)?", re.M)


def _config(tmp_path, name: str):
    shipped = ROOT / "recipes" / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    rows = "".join(json.dumps({"instruction": f"What is {i} plus 2?", "answer": str(i + 2)}) + "\n" for i in range(3))
    write(tmp_path / "in.jsonl", rows)
    return write(tmp_path / f"{name}.yaml", f"recipe: {name}\nteacher: {{provider: openai, model: m, base_url: "
                 f"http://127.0.0.1:9/v1}}\ninput: {{path: in.jsonl}}\nnum: 3\nout: {tmp_path / 'out'}\n")


@pytest.mark.parametrize("name", sorted(registered()))
def test_every_registered_recipe_previews_and_estimates(tmp_path, name):
    res = distill("run", str(_config(tmp_path, name)), "--dry-run")
    assert res.returncode == 0, res.stderr
    found = CALLS.search(res.stdout)
    assert found, res.stdout
    requests, samples = int(found[2]), int(found[3] or found[2])
    assert 1 <= requests <= samples <= 100_000, res.stdout
    assert "--- prompt 1 ---" in res.stdout, res.stdout
    assert not (tmp_path / "out").exists()


def _self_improve(tmp_path, **options) -> str:
    write(tmp_path / "train.jsonl", "".join(json.dumps({"instruction": f"{i} plus 1?", "answer": str(i + 1)}) + "\n"
                                            for i in range(5)))
    write(tmp_path / "held.jsonl", "".join(json.dumps({"q": f"{i} plus 2?", "answer": str(i + 2)}) + "\n"
                                           for i in range(3)))
    opts = {"iterations": 2, "samples": 4, "eval": {"path": "held.jsonl", "field": "q"}, **options}
    cfg = write(tmp_path / "si.yaml", "recipe: self_improve\nteacher: {provider: transformers}\n"
                "judge: {provider: openai, model: j, base_url: http://127.0.0.1:9/v1}\ninput: {path: train.jsonl}\n"
                f"out: {tmp_path / 'out'}\noptions: {json.dumps(opts)}\n")
    res = distill("run", str(cfg), "--dry-run")
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_self_improve_estimates_samples_judgements_and_evaluations(tmp_path):
    # verified: 2 iterations x 5 prompts, one call of 4 samples each; 3 held-out answers before and after each
    out = _self_improve(tmp_path)
    assert f"teacher calls: up to {2 * 5 + 3 * 3}, {2 * 5 * 4 + 3 * 3} samples\n" in out, out
    assert "judge calls" not in out
    # self_reward: 2 new prompts written per iteration, each of the 7 prompts' 4 samples judged 3 times by the
    # student; no verifier, so every later held-out answer is compared with iteration 0's in both orders
    out = _self_improve(tmp_path, mode="self_reward", new_prompts=2, judge_samples=3)
    teacher = 2 * 2 + 2 * 7 + 2 * 7 * 4 + 3 * 3
    assert f"teacher calls: up to {teacher}, {2 * 2 + 2 * 7 * 4 + 2 * 7 * 4 * 3 + 3 * 3} samples\n" in out, out
    assert "judge calls (openai:j@http://127.0.0.1:9/v1): up to 12\n" in out, out


PLUGIN = '''
from itertools import islice

from distill.recipes.base import Estimate, Recipe


class Shout(Recipe):
    """Answer every instruction in capitals (a plugin recipe).

    More text that the listing leaves out."""

    name = "shout"

    def preview(self, cfg, rows, limit):
        return [[{"role": "user", "content": "SHOUT: " + r.instruction}] for r in islice(rows, limit)]

    def estimate(self, cfg, rows):
        return Estimate(candidates=rows).add("teacher", rows)

    async def run(self):
        raise RuntimeError("not run by these tests")


class Lazy(Recipe):
    summary = "runs, but cannot say what it would send"

    async def run(self):
        raise RuntimeError("not run by these tests")
'''


def _plugin(tmp_path) -> dict[str, str]:
    site = tmp_path / "site"
    write(site / "shout_plugin.py", PLUGIN)
    info = site / "shout_plugin-0.1.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: shout-plugin\nVersion: 0.1\n")
    write(info / "entry_points.txt", "[distill.recipes]\nshout = shout_plugin:Shout\nlazy = shout_plugin:Lazy\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _recipe_yaml(tmp_path, recipe: str):
    write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"hello {i}"}) + "\n" for i in range(2)))
    return write(tmp_path / f"{recipe}.yaml", f"recipe: {recipe}\nteacher: {{provider: openai, model: m, base_url: "
                 f"http://127.0.0.1:9/v1}}\ninput: {{path: in.jsonl}}\nout: {tmp_path / 'out'}\n")


def test_a_plugin_recipe_is_listed_like_a_built_in(tmp_path):
    env = _plugin(tmp_path)
    listing = distill("recipes", env=env)
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"^shout +Answer every instruction in capitals \(a plugin recipe\)\.$", listing.stdout, re.M)
    assert re.search(r"^respond +answer a list of instructions", listing.stdout, re.M)
    assert "More text" not in listing.stdout
    described = distill("recipes", "shout", env=env)
    assert described.returncode == 0 and described.stdout.startswith("shout: Answer every"), described.stderr


def test_a_plugin_recipe_is_validated_and_dry_run_like_a_built_in(tmp_path):
    env = _plugin(tmp_path)
    cfg = _recipe_yaml(tmp_path, "shout")
    checked = distill("validate", str(cfg), env=env)
    assert checked.returncode == 0 and "ok | recipe shout" in checked.stdout, checked.stderr
    planned = distill("run", str(cfg), "--dry-run", env=env)
    assert planned.returncode == 0, planned.stderr
    assert "teacher calls: up to 2\n" in planned.stdout and "SHOUT: hello 0" in planned.stdout, planned.stdout
    schema = json.loads(distill("validate", "--schema", env=env).stdout)
    assert "shout" in schema["x-recipe-options"] and "respond" in schema["x-recipe-options"]
    unknown = distill("validate", str(write(tmp_path / "u.yaml", cfg.read_text().replace("shout", "nope"))), env=env)
    assert unknown.returncode == 2 and "known recipes: " in unknown.stderr and "shout" in unknown.stderr


def test_a_plugin_without_preview_or_estimate_cannot_be_registered(tmp_path):
    env = _plugin(tmp_path)
    listing = distill("recipes", env=env)
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"^lazy +\(unusable: recipe 'lazy' \(shout_plugin:Lazy\) does not implement preview, estimate;",
                     listing.stdout, re.M), listing.stdout
    schema = json.loads(distill("validate", "--schema", env=env).stdout)
    assert "does not implement preview, estimate" in schema["x-unusable-recipes"]["lazy"]
    assert "lazy" not in schema["x-recipe-options"]
    cfg = _recipe_yaml(tmp_path, "lazy")
    for command in (("validate", str(cfg)), ("run", str(cfg), "--dry-run")):
        res = distill(*command, env=env)
        assert res.returncode == 2, (command, res.stderr)
        assert "does not implement preview, estimate" in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_the_registry_refuses_a_class_lacking_the_contract(monkeypatch):
    monkeypatch.setitem(registry.RECIPES, "half", "distill.recipes.base:Recipe")
    with pytest.raises(InputError, match=r"'half' \(distill.recipes.base:Recipe\) does not implement preview, "
                                         r"estimate, run"):
        recipe_class("half")
    monkeypatch.setitem(registry.RECIPES, "half", "distill.recipes.base:Estimate")
    with pytest.raises(InputError, match="is not a distill.recipes.base.Recipe subclass"):
        recipe_class("half")
    monkeypatch.setitem(registry.RECIPES, "half", "distill.recipes.nowhere:Half")
    with pytest.raises(InputError, match="cannot be loaded"):
        recipe_class("half")


def test_your_own_recipe_without_estimate_is_a_clear_dry_run_error(tmp_path):
    """A `file.py:Class` recipe need not implement preview and estimate to run; --dry-run then says so."""
    write(tmp_path / "lazy.py", PLUGIN)
    cfg = _recipe_yaml(tmp_path, "lazy.py:Lazy")
    res = distill("run", str(cfg), "--dry-run")
    assert res.returncode == 2, res.stderr
    assert "recipe lazy.py:Lazy does not implement preview, estimate, which --dry-run needs" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_plugin_recipes_code_is_part_of_the_run_fingerprint(tmp_path, monkeypatch):
    """As distill's own files are for a built-in: a changed plugin rebuilds the records (its answers stay cached)."""
    from distill.config import load_config
    from distill.run.fingerprint import run_fingerprint

    module = write(tmp_path / "site" / "shout_fp.py", PLUGIN)
    monkeypatch.syspath_prepend(str(module.parent))
    monkeypatch.setattr(registry, "registered", lambda: {**registry.RECIPES, "shout": "shout_fp:Shout"})
    cfg, _ = load_config(_recipe_yaml(tmp_path, "shout"))
    before = run_fingerprint(cfg)
    assert run_fingerprint(cfg) == before
    module.write_text(PLUGIN.replace("SHOUT: ", "SHOUT! "))
    assert run_fingerprint(cfg) != before
