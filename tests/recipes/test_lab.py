"""LAB: taxonomy parsing and every validation rule, per-leaf sampling, each judge's keep rule, RAFT mixing and
per-leaf counts, against a scripted teacher; one run on the embedded teacher."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter

import pytest
from helpers import ROOT, distill, read_jsonl, write
from scripted_replies import LAB_RULES, TAXONOMY, copy_taxonomy

from distill.errors import InputError
from distill.io.path_policy import PathPolicy
from distill.taxonomy.validate import load_taxonomy


def test_example_taxonomy_parses():
    leaves = {leaf.path: leaf for leaf in load_taxonomy(TAXONOMY, PathPolicy(TAXONOMY.parent))}
    assert {p: leaf.kind for p, leaf in leaves.items()} == {
        "compositional_skills/grounded/table_reading": "grounded", "compositional_skills/writing/haiku": "freeform",
        "knowledge/technology/solar_cooking": "knowledge"}
    know = leaves["knowledge/technology/solar_cooking"]
    assert len(know.knowledge) == 5 and all(len(k.qa) == 3 for k in know.knowledge)
    assert know.documents[0][0] == "solar_cooker.md" and "Brightwell" in know.documents[0][1]


@pytest.mark.parametrize("edit,rule,line", [
    (lambda t: t.replace("version: 3", "version: 7"), "version", 1),
    (lambda t: t.replace("created_by: distill", "created_by: distill\nauthor: me"), "unknown_key", 3),
    (lambda t: t.replace("created_by: distill\n", ""), "required", None),
    (lambda t: t.split("  - question: Write a haiku about waiting")[0], "min_seed_examples", 4),
    (lambda t: t.replace("about a child's first snowman", "about morning fog over a harbour"), "duplicate_seed", 25),
    (lambda t: t.replace("  - question: Write a haiku about the first day",
                         "  - context: a table\n    question: Write a haiku about the first day"),
     "mixed_grounding", 4),
    (lambda t: t.replace("version: 3", "version: [3"), "yaml", None),
    (lambda t: t.replace("  - question: ", "  - questio: ", 2), "required", 5),  # two seeds lack a question
])
def test_each_skill_validation_rule_names_file_line_and_rule(tmp_path, edit, rule, line):
    root = copy_taxonomy(tmp_path)
    leaf = root / "compositional_skills/writing/haiku/qna.yaml"
    leaf.write_text(edit(leaf.read_text()))
    with pytest.raises(InputError) as err:
        load_taxonomy(root, PathPolicy(tmp_path))
    text = str(err.value)
    assert f"{rule}:" in text and str(leaf) in text
    if line:
        assert f"{leaf}:{line}: {rule}:" in text


def test_knowledge_rules_documents_and_duplicates(tmp_path):
    root = copy_taxonomy(tmp_path)
    leaf = root / "knowledge/technology/solar_cooking/qna.yaml"
    original = leaf.read_text()
    leaf.write_text(original.replace("      - question: How wide is the Brightwell box cooker?\n"
                                     "        answer: It is 60 centimetres wide.\n", ""))
    with pytest.raises(InputError, match=r"qna.yaml:\d+: min_qa"):
        load_taxonomy(root, PathPolicy(tmp_path))
    leaf.write_text(original.replace("solar_cooker.md", "missing.md"))
    with pytest.raises(InputError, match="document: document.patterns .* match no file"):
        load_taxonomy(root, PathPolicy(tmp_path))
    leaf.write_text(original.replace(str(tmp_path / "data" / "docs"), "https://example.com/repo.git"))
    with pytest.raises(InputError, match="never downloads"):
        load_taxonomy(root, PathPolicy(tmp_path))
    leaf.write_text(original)
    twin = root / "compositional_skills/writing/haiku_copy"
    shutil.copytree(root / "compositional_skills/writing/haiku", twin)
    with pytest.raises(InputError, match="duplicate_leaf"):
        load_taxonomy(root, PathPolicy(tmp_path))


def test_documents_from_a_local_git_repository_at_a_commit(tmp_path):
    import subprocess

    repo = tmp_path / "docrepo"
    repo.mkdir()
    (repo / "notes.md").write_text("Version one of the notes.")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    first = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (repo / "notes.md").write_text("Version two, changed later.")
    subprocess.run(git + ["commit", "-qam", "two"], check=True)
    from distill.taxonomy.documents import resolve_documents

    assert resolve_documents(str(repo), first, ["*.md"], tmp_path, PathPolicy(tmp_path)) == [
        ("notes.md", "Version one of the notes.")]


def test_cli_validate(tmp_path):
    res = distill("taxonomy", "validate", str(TAXONOMY))
    assert res.returncode == 0 and "3 leaves valid" in res.stdout
    root = copy_taxonomy(tmp_path)
    (root / "compositional_skills/writing/haiku/qna.yaml").write_text("version: 3\nseed_examples: []\n")
    res = distill("taxonomy", "validate", str(root))
    assert res.returncode == 2 and "min_seed_examples" in res.stderr and "required" in res.stderr


def _example_taxonomy_run(tmp_path, url):
    """A lab config over a copy of the example taxonomy (and the copy's root), small enough for the scripted
    teacher."""
    root = copy_taxonomy(tmp_path)
    return root, write(tmp_path / "r.yaml", f"""recipe: lab
teacher: {{provider: openai, model: m, base_url: {url}}}
out: {tmp_path / 'run'}
seed: 3
options: {{taxonomy: {root}, questions_per_seed: 3, contexts_per_seed: 2, questions_per_context: 2,
           chunk_words: 60, raft_p: 0.4}}
""")


def test_lab_against_a_scripted_teacher(tmp_path, teacher_server):
    teacher_server.configure(rules=LAB_RULES)
    root, cfg = _example_taxonomy_run(tmp_path, teacher_server.url)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    bodies = [b["messages"][0]["content"] for b in teacher_server.bodies()]

    # taxonomy-driven sampling: a leaf's prompts hold only that leaf's seed examples
    haiku = [b for b in bodies if "Here are example questions for the task" in b]
    assert len(haiku) == 5 and all("Write a haiku" in b and "|" not in b and "Brightwell" not in b for b in haiku)
    contexts = [b for b in bodies if "new contexts" in b]
    assert len(contexts) == 5 and all("rainfall" in b or "price" in b or "runner" in b or "visitors" in b
                                      or "sun" in b for b in contexts)
    assert all("haiku" not in b for b in contexts)
    know = [b for b in bodies if "new question-answer pairs" in b]
    assert know and all("solar cooking" in b and "haiku" not in b for b in know)
    assert all(len(b.split("Passage:\n")[1].split("Write each question")[0].split()) <= 60 for b in know)  # chunk bound
    chunks = {b.split("Passage:\n")[1] for b in know}
    examples = {b.split("An example passage of this document:\n")[1].split("\n\nQuestions and answers")[0]
                for b in know}
    assert len(examples) == 5 and len(know) == len(chunks) * 5  # every chunk with each of the 5 seed contexts

    rejected = read_jsonl(out / "rejected.jsonl")
    reasons = Counter(r["reason"] for r in rejected)
    assert reasons["question_judge_0"] == 5  # the BADQ question of each haiku seed
    assert reasons["pair_judge_below_2"] == 5 * 2  # "Which column is b?" in each of 2 contexts per grounded seed
    assert reasons["faithfulness_failed"] == len(know)  # the INVENTED answer of each chunk
    assert reasons["relevancy_failed"] == len(know)
    assert reasons["question_quality_failed"] == len(know)
    assert reasons["duplicate_question"] == len(know)

    data = read_jsonl(out / "data.jsonl")
    per_leaf = Counter(r["meta"]["leaf"] for r in data)
    manifest = json.loads((out / "manifest.json").read_text())
    leaves = manifest["lab_leaves"]
    assert per_leaf["compositional_skills/writing/haiku"] == leaves["compositional_skills/writing/haiku"][
        "accepted"] == 10
    assert leaves["compositional_skills/grounded/table_reading"]["accepted"] == 5 * 2
    knowledge = [r for r in data if r["meta"]["leaf_kind"] == "knowledge"]
    assert Counter(r["meta"]["form"] for r in knowledge) == {"qa": len(know), "raft": len(know)}
    for r in knowledge:
        if r["meta"]["form"] == "raft":
            docs = r["input"].count("Document:\n")
            others = len(chunks) - 1  # distractors come from the leaf's other chunks
            expected = min(3, others) + 1 if r["meta"]["gold_included"] else min(4, others)
            assert docs == expected  # gold + 3 distractors, or 4 distractors (as many as exist)
    assert all(r["meta"]["scores"]["lab.pair"] == 3 for r in data if r["meta"]["leaf_kind"] != "knowledge")

    # the same command again replays every job from the run folder: no call, the same files and leaf table
    files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(teacher_server.bodies()) == len(bodies)
    assert {name: (out / name).read_bytes() for name in files} == files
    assert json.loads((out / "manifest.json").read_text())["lab_leaves"] == leaves

    # a leaf file is part of what its records depend on: an edited seed answer is rebuilt, from the cache
    # where the prompts did not change and with new calls only where they did
    haiku_file = next(root.rglob("haiku/qna.yaml"))
    haiku_file.write_text(haiku_file.read_text().replace("Write a haiku", "Write a short haiku"))
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(teacher_server.bodies()) > len(bodies)  # the haiku prompts changed
    again = read_jsonl(out / "data.jsonl")
    assert [r for r in again if r["meta"]["leaf"] != "compositional_skills/writing/haiku"] == [
        r for r in data if r["meta"]["leaf"] != "compositional_skills/writing/haiku"]


def test_knowledge_pairing_rotate_gives_each_chunk_one_seed_context(tmp_path, teacher_server):
    teacher_server.configure(rules=LAB_RULES)
    root = copy_taxonomy(tmp_path)
    cfg = write(tmp_path / "r.yaml", f"""recipe: lab
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
out: {tmp_path / 'run'}
options: {{taxonomy: {root}, questions_per_seed: 1, contexts_per_seed: 1, questions_per_context: 1,
           max_seeds_per_leaf: 1, chunk_words: 60, knowledge_pairing: rotate}}
""")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    know = [b["messages"][0]["content"] for b in teacher_server.bodies()
            if "new question-answer pairs" in b["messages"][0]["content"]]
    assert len({b.split("Passage:\n")[1] for b in know}) == len(know) > 1  # one call per chunk
    # max_seeds_per_leaf 1 also limits the seed contexts: the one example passage, every time
    assert len({b.split("An example passage of this document:\n")[1][:80] for b in know}) == 1


SKILL_RULES = [
    {"match": r"good practice question", "reply": '{"rationale": "fine", "score": 1}'},
    {"match": r"Rate how well the answer", "reply": '{"rationale": "r", "score": 3}'},
    {"match": r"fully supported by the passage", "reply": "YES"},
    {"match": r"Check the answer against the question", "reply": '{"subject": 1, "focus": 1}'},
    {"match": r"understandable on its own", "reply": '{"score": 1}'},
    # every haiku seed gets the same two questions back: the leaf keeps one copy of each
    {"match": r"Here are example questions for the task",
     "reply": "1. Write a haiku about rain\n2. Write a haiku about snow"},
    {"match": r"Write \d+ new contexts", "reply": "Context 1:\n| k | v |\n|---|---|\n| {h} | 1 |"},
    {"match": r"different questions", "reply": "1. What is the value of k?"},
    {"match": r"Question: [^\n]*\nAnswer:$", "reply": "A fine answer."},
    {"match": r"write \d+ new question-answer pairs", "reply": "Q1: How wide is the {h} oven?\nA1: 60 cm."},
]


def test_skill_prompts_dedup_judge_context_and_single_chunk_raft(tmp_path, teacher_server):
    teacher_server.configure(rules=SKILL_RULES)
    root = copy_taxonomy(tmp_path)
    leaves = {leaf.path: leaf for leaf in load_taxonomy(root, PathPolicy(tmp_path))}
    cfg = write(tmp_path / "r.yaml", f"""recipe: lab
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
out: {tmp_path / 'run'}
options: {{taxonomy: {root}, questions_per_seed: 2, contexts_per_seed: 1, questions_per_context: 1}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    bodies = [b["messages"][0]["content"] for b in teacher_server.bodies()]

    # one seed question per prompt (InstructLab's way), each seed of the leaf in its own prompt
    haiku = [b for b in bodies if "Here are example questions for the task" in b]
    shown = [re.findall(r"^- (.*)$", b, re.MULTILINE) for b in haiku]
    assert all(len(s) == 1 for s in shown)
    assert sorted(s[0] for s in shown) == sorted(s.question for s in leaves["compositional_skills/writing/haiku"].seeds)
    # the contexts prompt shows its seed's context once, as the one example
    table = leaves["compositional_skills/grounded/table_reading"]
    contexts = [b for b in bodies if "new contexts" in b]
    for b in contexts:
        examples = [s.context.strip() for s in table.seeds if s.context.strip() in b]
        assert len(examples) == 1 and b.count(examples[0]) == 1
    assert len({next(s.context for s in table.seeds if s.context.strip() in b) for b in contexts}) == 5
    grounded_questions = [b for b in bodies if "different questions" in b]
    assert all(len(re.findall(r"^- (.*)$", b, re.MULTILINE)) == 1 for b in grounded_questions)

    # the freeform questions of a leaf are deduplicated: 5 seeds x 2 questions, 2 distinct
    data = read_jsonl(out / "data.jsonl")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert sorted(r["instruction"] for r in data if r["meta"]["leaf"].endswith("haiku")) == [
        "Write a haiku about rain", "Write a haiku about snow"]
    dups = [r for r in rejected if r["reason"] == "duplicate_question"]
    assert len(dups) == 8 and {r["stage"] for r in dups} == {"dedup"}

    # the grounded question judge sees the context it judges against, and explains before scoring
    judged = [b for b in bodies if "good practice question" in b and "What is the value of k?" in b]
    assert len(judged) == 5
    for b in judged:
        assert "answerable solely from the context" in b and "rationale" in b
        assert re.search(r"Context:\n\| k \| v \|\n\|---\|---\|\n\| \w+ \| 1 \|", b)

    # the solar-cooker leaf is one chunk: its RAFT rows hold that chunk alone (no empty context, not a copy of
    # the plain row)
    know = [b for b in bodies if "new question-answer pairs" in b]
    chunks = {b.split("Passage:\n")[1].split("\n\nWrite each question")[0] for b in know}
    assert len(chunks) == 1
    chunk = chunks.pop()
    raft = [r for r in data if r["meta"].get("form") == "raft"]
    assert len(raft) == 5 and all(r["input"] == f"Document:\n{chunk}" and r["meta"]["gold_included"] for r in raft)


def _knowledge_leaf(root, name, docs, text, marker):
    """A knowledge leaf copied from the example one, with its own document and seed questions."""
    src = (TAXONOMY / "knowledge/technology/solar_cooking/qna.yaml").read_text()
    docs.mkdir(parents=True)
    (docs / "doc.md").write_text(text)
    leaf = root / "knowledge" / name / "qna.yaml"
    leaf.parent.mkdir(parents=True)
    leaf.write_text(src.replace("../../../../data/docs", str(docs)).replace("solar_cooker.md", "doc.md")
                    .replace("Brightwell", marker))


def test_order_keys_keep_a_large_knowledge_leaf_before_the_next(tmp_path, teacher_server):
    # 1,002 chunks in the first leaf: `leaf * 1000 + 500 + chunk` put its last chunks on and after the second
    # leaf's keys; structured keys keep every row of a leaf together, in leaf order
    teacher_server.configure(rules=[{"match": r"new question-answer pairs", "reply": "NOTHING TO ASK"}])
    root = tmp_path / "tax"
    sentence = "The tide pool at marker {i} holds crabs, snails and anemones that wait for the sea to return."
    para = " ".join([sentence] * 3)  # 54 words: one paragraph per chunk at chunk_words 54
    big = "\n\n".join(para.replace("{i}", str(i)) for i in range(1002))
    assert len(para.split()) == 54
    _knowledge_leaf(root, "a_big", tmp_path / "docs_a", big, "Brightwool")
    _knowledge_leaf(root, "b_small", tmp_path / "docs_b", para.replace("{i}", "x"), "Brightstone")
    cfg = write(tmp_path / "r.yaml", f"""recipe: lab
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}, max_concurrency: 32}}
out: {tmp_path / 'run'}
options: {{taxonomy: {root}, chunk_words: 54, max_seeds_per_leaf: 1, knowledge_pairing: rotate}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr  # nothing accepted: said, exit 1
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert [r["item"]["leaf"] for r in rejected] == ["knowledge/a_big"] * 1002 + ["knowledge/b_small"]
    assert [r["item"]["chunk"] for r in rejected] == list(range(1002)) + [0]
    # a chunk with nothing to ask about may say so: counted under its own reason
    assert {r["reason"] for r in rejected} == {"nothing_to_ask"}


def test_raft_mixing_is_seeded_and_near_p():
    """The gold chunk is included with probability p, reproducibly for a given seed."""
    import random

    draws = [random.Random(f"7:lab-raft:0:{k}:0").random() < 0.4 for k in range(2000)]
    again = [random.Random(f"7:lab-raft:0:{k}:0").random() < 0.4 for k in range(2000)]
    assert draws == again and 0.37 < sum(draws) / len(draws) < 0.43


@pytest.mark.slow
def test_lab_on_the_embedded_teacher(tmp_path):
    pytest.importorskip("llama_cpp")
    res = distill("run", str(ROOT / "recipes" / "lab.yaml"), "--out", str(tmp_path / "run"), "--no-progress",
                  timeout=900)
    assert res.returncode == 0, res.stderr
    leaves = json.loads((tmp_path / "run" / "manifest.json").read_text())["lab_leaves"]
    assert set(leaves) == {"compositional_skills/grounded/table_reading", "compositional_skills/writing/haiku",
                           "knowledge/technology/solar_cooking"}
    assert sum(c["generated"] for c in leaves.values()) > 0
    for counts in leaves.values():  # every generated question ends accepted or rejected: nothing silently dropped
        assert counts["accepted"] + counts["rejected"] >= counts["generated"]


def test_a_judge_verdict_cut_off_at_its_token_limit_is_unreadable_not_a_score(tmp_path, teacher_server):
    """A pair judge that begins "Score: 3" and is cut off mid-rationale: its verdict is `judge_truncated` (as in
    quality/judge.py), not a 3 read from its first words (found by the real-model work, #35)."""
    cut = {"match": r"Rate how well the answer", "reply": "Score: 3\n\nThe answer is correct because the",
           "finish_reason": "length"}
    rules = [cut if r["match"] == r"Rate how well the answer" else r for r in LAB_RULES]
    assert cut in rules
    teacher_server.configure(rules=rules)
    root, cfg = _example_taxonomy_run(tmp_path, teacher_server.url)
    res = distill("run", str(cfg), "--no-progress")
    assert "Traceback" not in res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert all(r["meta"]["leaf_kind"] == "knowledge" for r in data)  # no skill pair was scored from a cut reply
    reasons = Counter(r["reason"] for r in read_jsonl(tmp_path / "run" / "rejected.jsonl"))
    assert reasons["judge_truncated"] > 0
