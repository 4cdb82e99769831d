"""A target for a recipe that makes its own items (issue #33): self_instruct asked for 40 accepted records makes
instructions in rounds (the first sized at 5 instances per instruction), stops at exactly 40, and its records are
the first 40 of a run asked for the final round's number of instructions outright, for the same requests — the
bootstrap's first instructions do not depend on how many are asked for; a re-run sends nothing. A recipe's own
shortfall report is no sign that its items ran out (evol_instruct), and a generator out of patience ends the
rounds with how far they got."""

from __future__ import annotations

import json
import re

from helpers import ROOT, distill, read_jsonl, write
from scripted_replies import SELF_INSTRUCT_RULES


def _cfg(tmp_path, url, out):
    return write(tmp_path / f"{out}.yaml", f"""recipe: self_instruct
teacher: {{provider: openai, model: t, base_url: {url}, timeout: 5}}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, patience: 10}}
out: {tmp_path / out}
report: false
""")


def test_self_instruct_reaches_a_target_with_the_records_of_a_plain_run(tmp_path, teacher_server):
    teacher_server.configure(rules=SELF_INSTRUCT_RULES[1:])  # every bootstrap reply read (none cut off)
    res = distill("run", str(_cfg(tmp_path, teacher_server.url, "target")), "--no-progress", "--target", "40")
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    rounds = manifest["records_target"]["rounds"]
    assert rounds[0]["items"] == 8 and len(rounds) >= 2  # 40 records at up to 5 instances per instruction
    data = read_jsonl(tmp_path / "target" / "data.jsonl")
    assert len(data) == 40
    paid = teacher_server.stats()["requests"]

    plain = distill("run", str(_cfg(tmp_path, teacher_server.url, "plain")), "--no-progress", "--num",
                    str(manifest["records_target"]["items"]))
    assert plain.returncode == 0, plain.stderr
    assert read_jsonl(tmp_path / "plain" / "data.jsonl")[:40] == data  # the same first 40 records
    assert teacher_server.stats()["requests"] - paid == paid  # the rounds paid for no call a plain run does not

    before = teacher_server.stats()["requests"]
    again = distill("run", str(_cfg(tmp_path, teacher_server.url, "target")), "--no-progress", "--target", "40")
    assert again.returncode == 0 and teacher_server.stats()["requests"] == before


def test_evol_instruct_reaches_a_target_though_it_reports_fewer_instructions_than_it_tried(tmp_path,
                                                                                        teacher_server):
    """evol_instruct's own `ctx.target` says how many evolutions survived of those tried: no sign that its inputs
    ran out. The rounds go on until the target, for the requests and records of a plain run of the final size."""
    from scripted_replies import EVOL_ROOTS, EVOL_RULES

    teacher_server.configure(rules=EVOL_RULES)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"{EVOL_ROOTS[i % 5]} {i}"}) + "\n"
                                               for i in range(60)))

    def cfg(out):
        return write(tmp_path / f"{out}.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: evolver, base_url: {teacher_server.url}}}
answer_teacher: {{provider: openai, model: answerer, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {tmp_path / out}
report: false
""")

    res = distill("run", str(cfg("target")), "--no-progress", "--target", "40")
    assert res.returncode == 0, res.stderr
    target = json.loads((tmp_path / "target" / "manifest.json").read_text())["records_target"]
    assert target["accepted"] == 40 and len(target["rounds"]) >= 2 and target["items"] < 60
    paid = teacher_server.stats()["requests"]
    plain = distill("run", str(cfg("plain")), "--no-progress", "--num", str(target["items"]))
    assert plain.returncode == 0, plain.stderr
    assert read_jsonl(tmp_path / "plain" / "data.jsonl")[:40] == read_jsonl(tmp_path / "target" / "data.jsonl")
    assert teacher_server.stats()["requests"] - paid == paid


def test_a_generator_out_of_patience_says_how_far_it_got_and_a_rerun_sends_nothing(tmp_path, teacher_server):
    teacher_server.configure(rules=SELF_INSTRUCT_RULES)  # only the first prompts' replies add instructions
    cfg = _cfg(tmp_path, teacher_server.url, "run")
    res = distill("run", str(cfg), "--no-progress", "--target", "100")
    assert res.returncode == 1
    assert re.search(r"target not reached: (\d+) of 100 accepted records after \d+ items in 2 round\(s\): asking "
                     r"for \d+ items made no more records than asking for 20: the recipe makes no more", res.stderr)
    assert "self_instruct stopped short" in res.stderr  # the recipe's own line: patience ran out
    paid = teacher_server.stats()["requests"]
    again = distill("run", str(cfg), "--no-progress", "--target", "100")
    assert again.returncode == 1 and teacher_server.stats()["requests"] == paid
