"""The shipped recipes against a real OpenAI-compatible server: llama-cpp-python's own (`python -m
llama_cpp.server`, the `server` extra) serving the packaged SmolLM2 GGUF on 127.0.0.1, named only with
`--teacher openai:smollm2@URL` and no change to the recipe YAML.

That server refuses a json_schema response_format (HTTP 500) and ignores `n`: distill must find json_object
with a schema for the judges, make the samples math_qa asks for as single calls, and pay nothing on a re-run."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import ROOT, distill, expected_exit, read_jsonl
from llama_server import serve_smollm2

FILES = ("data.jsonl", "rejected.jsonl")
pytestmark = pytest.mark.slow  # runs the real SmolLM2 model (CI runs the slow tests too)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    with serve_smollm2(tmp_path_factory.mktemp("llama")) as url:
        yield url


def _run_twice(recipe, url, out, num):
    args = ("run", str(ROOT / "recipes" / f"{recipe}.yaml"), "--teacher", f"openai:smollm2@{url}",
            "--num", str(num), "--out", str(out), "--no-progress")
    first = distill(*args, timeout=600)
    assert first.returncode == expected_exit(out), first.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    files = {name: (out / name).read_bytes() for name in FILES}
    again = distill(*args, timeout=600)
    assert again.returncode == expected_exit(out), again.stderr
    rerun = json.loads((out / "manifest.json").read_text())
    assert {role: u["requests"] for role, u in rerun["usage"].items()} == {role: 0 for role in rerun["usage"]}
    assert {name: (out / name).read_bytes() for name in FILES} == files
    return manifest


def test_evol_instruct_judges_work_on_llama_cpp_server(llama_server, tmp_path):
    out = tmp_path / "evol"
    manifest = _run_twice("evol_instruct", llama_server, out, 2)
    caps = manifest["usage"]["teacher"]["capabilities"]
    assert caps["structured_output"] == "json_object" and "json_schema" in caps["refusals"]
    assert manifest["usage"]["teacher"]["retries"] == 0 and manifest["usage"]["teacher"]["failed"] == 0
    # the difficulty judge is read: its grammar-constrained JSON ratings fill the per-round difficulty table
    rounds = manifest["evol_rounds"]
    rated = sum(r["rated"] for r in rounds)
    unreadable = sum(r["eliminated"].get("difficulty_unparseable", 0) for r in rounds)
    assert rated >= 2 and rated > unreadable and rounds[0]["mean_difficulty"] is not None
    assert read_jsonl(out / "data.jsonl")


def test_math_qa_makes_every_sample_on_llama_cpp_server(llama_server, tmp_path):
    out = tmp_path / "math"
    manifest = _run_twice("math_qa", llama_server, out, 2)
    caps = manifest["usage"]["teacher"]["capabilities"]
    assert caps["supports_n"] is False  # the server returned 1 choice for n=4
    samples = Counter(r["instruction"] for r in read_jsonl(out / "data.jsonl"))
    rejected = read_jsonl(out / "rejected.jsonl")
    samples.update(r["item"]["problem"] for r in rejected if r["stage"] in ("solve", "verify"))
    assert list(samples.values()) == [4], samples  # m1 is decontaminated (a benchmark question); m2: 4 samples
