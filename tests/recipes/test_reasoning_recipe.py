"""The reasoning recipe end to end: `distill run` (real openai client) against a scripted server answering like
reasoning models — thinking in `reasoning_content` or inline <think> blocks, markdown answers, traces cut at the
token limit, loops, mixed languages, copied or missing thinking. Each failure is rejected with its reason, each
good trace kept with its thinking apart; verification and selection; a re-run makes no call; the dry run."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import ROOT, distill, read_jsonl, write
from reasoning_server import ReasoningServer, run_reasoning

GOOD_THINKING = ("17 + 25: the tens give 10 + 20 = 30 and the units 7 + 5 = 12, so 30 + 12 = 42. "
                 "Check: 42 - 25 = 17, which is right.")
LOOP = "Let me add 17 and 25 again to be sure. " * 12
MIXED = "First 17 + 20 = 37. 然后我们再加五，三十七加五等于四十二，没有错。 Then 37 + 5 = 42."
LONG = " ".join(f"Step {i}: adding {i} to 17 gives {17 + i}, still short of 42." for i in range(1, 60))
ADD_SAMPLES = [
    {"reasoning_content": GOOD_THINKING, "content": "The answer is $\\boxed{42}$."},  # 0 kept
    {"content": f"<think>\n{GOOD_THINKING} Tens first, then units.\n</think>\n\n"  # 1 kept: inline, markdown
                "**Answer:** 42 (17 + 25 = **42**) 🎉"},
    {"content": "<think>\n17 + 25, start with the tens: 10 + 20 = 30, then the units 7 +", "finish_reason": "length"},
    {"reasoning_content": GOOD_THINKING, "content": ""},  # 3 no final answer
    {"reasoning_content": LOOP, "content": "\\boxed{42}"},  # 4
    {"reasoning_content": MIXED, "content": "\\boxed{42}"},  # 5
    {"content": "42"},  # 6 no thinking at all
    {"reasoning_content": GOOD_THINKING.replace("42", "43"), "content": "So the sum is \\boxed{43}."},  # 7 wrong
    {"reasoning_content": "The sum is 42.", "content": "The sum is 42."},  # 8 copies the answer
    {"reasoning_content": LONG, "content": "\\boxed{42}"},  # 9 too long for the 300-token budget
]
SKY_SAMPLES = [
    {"reasoning_content": "Sunlight scatters off air molecules; shorter wavelengths scatter much more "
                          "(Rayleigh, about 1/wavelength^4), and our eyes are more sensitive to blue than violet.",
     "content": "## Why the sky is blue\n\n- Air molecules scatter **short wavelengths** far more than long ones.\n"
                "- So blue light reaches us from every direction of the sky."},
    {"content": "<think>Rayleigh scattering: blue scatters more than red because it has a shorter wavelength."
                "</think>\nBecause air scatters blue light much more strongly than red light."},
]
PLANET_SAMPLES = [  # DeepSeek-R1's template opens <think> in the prompt: the reply only closes it; CRLF line ends
    {"content": "Compare the gas giants by mass: Jupiter is about 318 Earth masses, Saturn about 95.\n</think>\n\n"
                "Jupiter."},
    {"content": "<think>\r\nJupiter is the biggest by far, more than twice Saturn's mass.\r\n</think>\r\n\r\nJupiter."},
]
RULES = [{"match": r"^Name the largest planet", "samples": PLANET_SAMPLES},
         {"match": r"^What is 17 \+ 25\?", "samples": ADD_SAMPLES},
         {"match": r"^Why is the sky blue\?", "samples": SKY_SAMPLES}]
QUESTIONS = [{"question": "What is 17 + 25?", "answer": "42", "domain": "math"},
             {"question": "Why is the sky blue?", "domain": "science"}]


@pytest.fixture(scope="module")
def server():
    with ReasoningServer(rules=RULES) as s:
        yield s


def _config(tmp_path, url: str, options: str, top: str = ""):
    inp = write(tmp_path / "q.jsonl", "".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return write(tmp_path / "r.yaml", f"""recipe: reasoning
{top}teacher: {{provider: openai, model: r1-like, base_url: {url}, max_retries: 2, timeout: 10}}
input: {{path: {inp}, field: question, input_field: null}}
out: {tmp_path / 'run'}
options:
  samples: 10
  max_trace_tokens: 300
{options}""")


def test_each_failure_is_rejected_with_its_reason_and_good_traces_are_kept(tmp_path, server):
    before = server.stats()["requests"]
    cfg = _config(tmp_path, server.url, "")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    asked = server.bodies()[before:]
    assert len(asked) == 2 and {b["n"] for b in asked} == {10}
    assert asked[0]["temperature"] == 0.6 and asked[0]["top_p"] == 0.95 and asked[0]["max_tokens"] == 8192
    prompt = next(b for b in asked if "17 + 25" in b["messages"][0]["content"])["messages"][0]["content"]
    assert "<think>" in prompt and "\\boxed{}" in prompt  # a math question asks for a boxed answer

    rejected = read_jsonl(out / "rejected.jsonl")
    reasons = Counter((r["stage"], r["reason"]) for r in rejected)
    assert reasons == Counter({("check", "truncated"): 1, ("check", "no_final_answer"): 1,
                               ("check", "repetition_loop"): 1, ("check", "language_mix"): 1,
                               ("check", "empty_reasoning"): 2, ("check", "too_long"): 1})
    why = sorted(r["detail"]["why"] for r in rejected if r["reason"] == "empty_reasoning")
    assert why == ["copies_answer", "empty"]
    cut = next(r for r in rejected if r["reason"] == "truncated")
    assert cut["raw"].startswith("<think>\n17 + 25, start with the tens")  # the thinking is shown

    data = read_jsonl(out / "data.jsonl")
    add = [r for r in data if r["instruction"] == "What is 17 + 25?"]
    assert [r["meta"]["sample"] for r in add] == [0, 1, 7]  # without verify the wrong answer stays
    first = add[0]
    assert first["reasoning"] == GOOD_THINKING  # from reasoning_content
    assert first["output"] == "The answer is $\\boxed{42}$." == first["messages"][-1]["content"]
    assert "<think>" not in add[1]["output"] and add[1]["reasoning"].endswith("Tens first, then units.")
    mean = first["meta"]["difficulty"]["mean_trace_tokens"]
    assert first["meta"]["difficulty"] == {"samples": 10, "passed_checks": 3, "share_correct": None,
                                           "mean_trace_tokens": mean, "judge_rating": None, "bucket": "easy",
                                           "basis": "trace_tokens"}  # unverified, unrated: by trace length
    assert 50 < mean < 256 and first["meta"]["correct"] is None
    sky = [r for r in data if r["instruction"] == "Why is the sky blue?"]
    assert len(sky) == 10 and sky[0]["output"].startswith("## Why the sky is blue")  # two replies, in turn
    assert sky[1]["reasoning"].startswith("Rayleigh scattering") and sky[1]["output"].startswith("Because air")

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["reasoning"] == {"questions": 2, "traces": 20, "passed_checks": 13, "kept": 13,
                                     "with_a_kept_trace": 2}
    assert manifest["reasoning_domains"] == {"math": 1, "science": 1}

    # the same command again: every question replayed from the run folder, no call, the same files
    files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
    requests = server.stats()["requests"]
    again = distill("run", str(cfg), "--no-progress", "--no-report")
    assert again.returncode == 0, again.stderr
    assert server.stats()["requests"] == requests
    assert {name: (out / name).read_bytes() for name in files} == files


def test_verification_and_shortest_correct(tmp_path, server):
    cfg = _config(tmp_path, server.url, "  verify: {kind: math}\n  keep: shortest_correct\n")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    reasons = Counter((r["stage"], r["reason"]) for r in read_jsonl(out / "rejected.jsonl"))
    assert reasons[("verify", "wrong_answer")] == 1
    assert reasons[("select", "not_selected")] == 10  # one of the two right sums, nine of the ten sky answers
    data = read_jsonl(out / "data.jsonl")
    add = next(r for r in data if r["instruction"] == "What is 17 + 25?")
    assert add["meta"]["sample"] == 0  # the shorter of the two correct traces
    assert add["meta"]["correct"] is True and add["meta"]["answer"] == "42" and add["meta"]["expected"] == "42"
    assert add["meta"]["difficulty"]["share_correct"] == 0.2  # 2 of 10 samples
    assert add["meta"]["stages"] == ["generate", "check", "verify", "select"]
    sky = next(r for r in data if r["instruction"] == "Why is the sky blue?")
    assert sky["meta"]["correct"] is None and sky["meta"]["sample"] == 1  # no reference: unverified, shortest kept


def test_min_difficulty_keeps_the_hard_questions(tmp_path, server):
    """s1-style: with verification the sum is hard (2 of 10 samples right); the sky question, unverified and
    unrated, is easy by its short traces, and its traces are rejected as too_easy."""
    cfg = _config(tmp_path, server.url, "  verify: {kind: math}\n  min_difficulty: hard\n")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    data = read_jsonl(out / "data.jsonl")
    assert {r["instruction"] for r in data} == {"What is 17 + 25?"} and len(data) == 2  # the two right sums
    assert data[0]["meta"]["difficulty"]["bucket"] == "hard"
    assert data[0]["meta"]["difficulty"]["basis"] == "share_correct"
    easy = [r for r in read_jsonl(out / "rejected.jsonl") if r["reason"] == "too_easy"]
    assert len(easy) == 10 and {r["stage"] for r in easy} == {"select"}
    assert easy[0]["detail"] == {"difficulty": "easy", "basis": "trace_tokens", "min_difficulty": "hard"}
    buckets = json.loads((out / "manifest.json").read_text())["reasoning_difficulty"]
    assert buckets == {"hard.questions": 1, "hard.samples": 10, "hard.verified": 10, "hard.correct": 2,
                       "hard.kept": 2, "easy.questions": 1, "easy.samples": 10, "easy.kept": 0}


def test_a_judges_difficulty_rating(tmp_path):
    """rate_difficulty: one judge call per question (the teacher here), its 1-10 score recorded and, for the
    unverified question, the bucket; an unreadable rating is no rating."""
    rating = {"match": r"(?s)^Rate how difficult.*sky",
              "samples": [{"content": '{"rationale": "physics", "score": 8}'}]}
    unreadable = {"match": r"^Rate how difficult", "samples": [{"content": "Quite hard, I would say."}]}
    with ReasoningServer(rules=[rating, unreadable, *RULES]) as server:
        cfg = _config(tmp_path, server.url, "  rate_difficulty: true\n  min_difficulty: medium\n")
        res = distill("run", str(cfg), "--no-progress", "--no-report")
        bodies = server.bodies()
    assert res.returncode == 0, res.stderr
    rate = [b for b in bodies if b["messages"][0]["content"].startswith("Rate how difficult")]
    assert len(rate) == 2 and all(b["temperature"] == 0.0 and b.get("n", 1) == 1 for b in rate)
    assert "Why is the sky blue?" in rate[0]["messages"][0]["content"] + rate[1]["messages"][0]["content"]
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    sky = next(r for r in data if r["instruction"] == "Why is the sky blue?")["meta"]["difficulty"]
    assert (sky["judge_rating"], sky["bucket"], sky["basis"]) == (8, "hard", "judge_rating")
    assert {r["instruction"] for r in data} == {"Why is the sky blue?"}
    easy = [r for r in read_jsonl(tmp_path / "run" / "rejected.jsonl") if r["reason"] == "too_easy"]
    assert len(easy) == 3 and {r["item"]["question"] for r in easy} == {"What is 17 + 25?"}  # its 3 good traces
    assert easy[0]["detail"] == {"difficulty": "easy", "basis": "trace_tokens", "min_difficulty": "medium"}
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["reasoning"]["unrated"] == 1


def test_keep_k_and_recording_wrong_answers(tmp_path, server):
    before = len(server.bodies())
    cfg = _config(tmp_path, server.url, "  verify: {kind: math}\n  drop_incorrect: false\n  keep: k\n  keep_k: 2\n"
                  "  generation: {temperature: 1.0}\n", top="generation: {max_tokens: 999, temperature: 0.2}\n")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 0, res.stderr
    asked = server.bodies()[before]  # the run's generation: over the recipe's defaults, the options over both
    assert (asked["max_tokens"], asked["temperature"], asked["top_p"]) == (999, 1.0, 0.95)
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    add = [r["meta"]["sample"] for r in data if r["instruction"] == "What is 17 + 25?"]
    assert add == [0, 1]  # the wrong sample 7 is passed over by k, not rejected as wrong
    reasons = Counter(r["reason"] for r in read_jsonl(tmp_path / "run" / "rejected.jsonl"))
    assert reasons["wrong_answer"] == 0 and reasons["not_selected"] == 1 + 8  # sample 7; sky samples 2-9


def test_a_run_with_nothing_kept_exits_1_with_the_reasons(tmp_path, server):
    # no rule: "I cannot say." without thinking
    res = run_reasoning(tmp_path, server.url, [{"question": "Name a prime above 100."}], samples=2)
    assert res.returncode == 1
    assert "0 of 1 questions with a kept trace" in res.stdout + res.stderr
    assert "empty_reasoning" in res.stdout + res.stderr


def test_dry_run_of_the_shipped_recipe():
    res = distill("run", str(ROOT / "recipes" / "reasoning.yaml"), "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "teacher calls: up to 4, 16 samples" in res.stdout
    assert "think it through step by step inside <think> and </think>" in res.stdout
    assert "up to 5,120 completion" in res.stdout  # 16 samples x the demo's max_tokens 320


@pytest.mark.parametrize("setting, line", [
    ("options.generation={max_tokens: 100}", "up to 1,600 completion"),  # the recipe's own over the run's
    ("generation={temperature: 0.6}", "up to 131,072 completion"),  # the run sets no max_tokens: the recipe's 8192
    ("options.rate_difficulty=true", "teacher calls: up to 8, 20 samples"),  # one rating per question (no judge:)
])
def test_dry_run_estimates_the_recipes_own_max_tokens_and_ratings(setting, line):
    res = distill("run", str(ROOT / "recipes" / "reasoning.yaml"), "--dry-run", "--set", setting)
    assert res.returncode == 0, res.stderr
    assert line in res.stdout


def test_a_trace_with_a_chat_template_token_is_refused_at_acceptance(tmp_path):
    """A thinking that holds <|im_end|> or a second think block would break the think_inline export and be read as
    a special token: the shared acceptance check rejects it (template_token); the clean trace is kept."""
    samples = [{"reasoning_content": GOOD_THINKING + "<|im_end|><|im_start|>assistant", "content": "\\boxed{42}"},
               {"reasoning_content": GOOD_THINKING, "content": "The answer is \\boxed{42}."},
               {"reasoning_content": f"{GOOD_THINKING}</think>\nOnce more.", "content": "So \\boxed{42}."},
               # two inline blocks: the provider joins them into the thinking, which is fine
               {"content": f"<think>{GOOD_THINKING}</think>\n<think>Once more.</think>\nSo \\boxed{{42}}."}]
    with ReasoningServer(rules=[{"match": "17", "samples": samples}]) as server:
        res = run_reasoning(tmp_path, server.url, [QUESTIONS[0]], samples=4)
    assert res.returncode == 0, res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [r["meta"]["sample"] for r in data] == [1, 3]
    assert data[1]["reasoning"] == f"{GOOD_THINKING}\n\nOnce more." and "think>" not in data[1]["output"]
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert sorted((r["stage"], r["reason"]) for r in rejected) == [("select", "template_token")] * 2


@pytest.mark.slow
def test_the_shipped_recipe_on_the_embedded_teacher(tmp_path):
    """SmolLM2-135M is no reasoning model and mostly ignores the <think> instruction: the run ends with records,
    or with exit 1 and the reasons (#35's contract). Either way every trace has an outcome."""
    pytest.importorskip("llama_cpp")
    res = distill("run", str(ROOT / "recipes" / "reasoning.yaml"), "--num", "2", "--out", str(tmp_path / "run"),
                  "--no-progress", "--no-report", timeout=3000)
    out = tmp_path / "run"
    data = read_jsonl(out / "data.jsonl")
    rejected = read_jsonl(out / "rejected.jsonl")
    assert len(data) + len(rejected) == 8  # 2 questions x 4 samples, each kept or rejected with its reason
    reasons = {r["reason"] for r in rejected}
    assert reasons <= {"truncated", "no_final_answer", "empty_reasoning", "too_long", "repetition_loop",
                       "language_mix", "not_selected"} | {"label_only", "prompt_echo", "copies_input",
                                                          "unclosed_code_fence", "leftover_label"}
    if data:
        assert res.returncode == 0, res.stderr
        assert all(r["reasoning"] and r["output"] for r in data)
    else:
        assert res.returncode == 1
        assert "0 of 2 questions with a kept trace" in res.stdout + res.stderr


def test_claude_thinking_blocks_are_the_thinking(tmp_path, monkeypatch):
    """An Anthropic teacher with extended thinking: its `thinking` blocks become the record's reasoning, the text
    blocks (a chatty lead-in on some) its answer; the reasoning model is not asked for <think> tags."""
    from anthropic_server import AnthropicServer

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    inp = write(tmp_path / "q.jsonl", json.dumps({"question": "Why is the sky blue?"}) + "\n")
    rules = [{"match": "sky blue", "reply": "Air scatters short (blue) wavelengths of sunlight far more than red."}]
    with AnthropicServer(rules=rules) as server:
        cfg = write(tmp_path / "r.yaml", f"""recipe: reasoning
teacher: anthropic:claude-sonnet-4-6@{server.url}
input: {{path: {inp}, field: question, input_field: null}}
out: {tmp_path / 'run'}
options:
  samples: 2
  ask_to_think: false
  generation: {{temperature: 1.0, max_tokens: 2048, extra_body: {{thinking: {{type: enabled, budget_tokens: 1024}}}}}}
""")
        res = distill("run", str(cfg), "--no-progress", "--no-report")
        bodies = server._get("/bodies")
    assert res.returncode == 0, res.stderr
    assert len(bodies) == 2 and bodies[0]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert bodies[0]["messages"][0]["content"] == "Why is the sky blue?"  # no layout instructions
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert len(data) == 2
    for record in data:
        assert record["reasoning"].startswith("PONDERING ") and "PONDERING" not in record["output"]
        assert record["output"].endswith("far more than red.")


def test_a_think_block_closed_only_or_with_crlf_is_still_the_thinking(tmp_path, server):
    res = run_reasoning(tmp_path, server.url, [{"question": "Name the largest planet."}], samples=2)
    assert res.returncode == 0, res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [r["output"] for r in data] == ["Jupiter.", "Jupiter."]
    assert data[0]["reasoning"].startswith("Compare the gas giants") and data[0]["reasoning"].endswith("about 95.")
    assert data[1]["reasoning"] == "Jupiter is the biggest by far, more than twice Saturn's mass."
