"""magpie's `chat_template` option: the template from a family name, a .jinja file or a .gguf's metadata, for a
server that answers /v1/completions but cannot render its template (scripted `raw: "completions"`, and the real
`python -m llama_cpp.server`), and the refusal that names the option when it is missing."""

from __future__ import annotations

import json

import pytest
from fake_teacher import FakeTeacher
from helpers import distill, read_jsonl, write
from llama_server import serve_smollm2

from distill.errors import InputError
from distill.io.path_policy import PathPolicy
from distill.recipes.magpie import chat_templates
from distill.recipes.magpie.pre_query import SENTINEL, split_rendered

SYSTEM = "Ask about algorithms."
CHATML = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
LLAMA3_LIKE = ("{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] }}"
               "<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>"
               "\n\n{% endif %}")
QUERY_RULE = {"match": r"<\|(im_start|start_header_id)\|>user",
              "reply": "Which sorting algorithm suits dataset {h} best, and why?"}


def _cfg(tmp_path, url, options: str, extra: str = ""):
    return write(tmp_path / "m.yaml", f"""recipe: magpie
teacher: {{provider: openai, model: fake-model, base_url: {url}, timeout: 5}}
out: {tmp_path / "run"}
seed: 3
{extra}options: {{count: 2, tags: false, {options}}}
""")


def _prompts(server):
    return [b["prompt"] for b in server.bodies() if "prompt" in b]


def test_a_server_without_a_template_endpoint_is_refused_naming_the_option(tmp_path):
    with FakeTeacher(raw="completions", rules=[QUERY_RULE]) as server:  # /v1/completions, no template endpoint
        res = distill("run", str(_cfg(tmp_path, server.url, f"system: {SYSTEM}")))
        assert _prompts(server) == [] and server.stats()["answered"] == 0  # refused before any call
    assert res.returncode == 2, res.stderr
    err = res.stderr
    assert "options.chat_template" in err and "chatml, llama3, qwen" in err and ".jinja" in err and ".gguf" in err
    assert "/apply-template" in err and "/tokenize" in err and "serves chat only" not in err
    assert "Traceback" not in err and not (tmp_path / "run" / "data.jsonl").exists()


def test_a_family_name_gives_the_prefix_a_server_without_a_template_endpoint_continues(tmp_path):
    with FakeTeacher(raw="completions", rules=[QUERY_RULE]) as server:
        res = distill("run", str(_cfg(tmp_path, server.url, f"system: {SYSTEM}, chat_template: chatml")))
        bodies = server.bodies()
    assert res.returncode == 0, res.stderr
    assert "2 accepted" in res.stdout
    raw = [b for b in bodies if "prompt" in b]
    assert [b["prompt"] for b in raw] == [CHATML] * 2 and all(b["stop"] == ["<|im_end|>"] for b in raw)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["magpie"]["pre_query_template"] == CHATML
    assert manifest["magpie"]["chat_template"].startswith("chatml")
    rows = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [r["instruction"][:26] for r in rows] == ["Which sorting algorithm su"] * 2


def test_a_jinja_file_gives_the_prefix_and_its_end_of_turn_stop(tmp_path):
    write(tmp_path / "templates" / "mine.jinja", LLAMA3_LIKE)
    cfg = _cfg(tmp_path, "{url}", "system: Be brief., chat_template: templates/mine.jinja")
    prefix = ("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\n")
    with FakeTeacher(raw="completions", rules=[QUERY_RULE]) as server:
        cfg.write_text(cfg.read_text().replace("{url}", server.url))
        res = distill("run", str(cfg))
        assert res.returncode == 0, res.stderr
        bodies = server.bodies()
        again = distill("run", str(cfg))  # the same file, the same prompts: every call comes from the cache
        assert again.returncode == 0 and "0 new" in again.stdout, again.stdout
        assert len(server.bodies()) == len(bodies)
    raw = [b for b in bodies if "prompt" in b]
    assert [b["prompt"] for b in raw] == [prefix] * 2 and all(b["stop"] == ["<|eot_id|>"] for b in raw)
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 2
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["magpie"]["chat_template"] == "templates/mine.jinja"


def test_the_servers_own_template_wins_over_the_option(tmp_path):
    with FakeTeacher(raw=True, rules=[QUERY_RULE]) as server:  # llama-server's /apply-template renders ChatML
        res = distill("run", str(_cfg(tmp_path, server.url, f"system: {SYSTEM}, chat_template: llama3")))
        assert res.returncode == 0, res.stderr
        assert _prompts(server) == [CHATML] * 2
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["magpie"]["chat_template"] == "teacher"


@pytest.mark.parametrize(("value", "message"), [
    ("chatlm", "'chatlm' is no chat template family distill knows (chatml, llama3, qwen)"),
    ("missing.jinja", "missing.jinja: cannot read"),
    ("broken.jinja", "broken.jinja: template syntax error on line 2"),
    ("fake.gguf", "fake.gguf is not a GGUF model file"),
    ("../outside.jinja", "is outside"),
    ("strict.jinja", "the template raised: system messages are not supported"),
])
def test_a_template_that_cannot_be_used_stops_the_run_naming_the_option(tmp_path, value, message):
    write(tmp_path / "broken.jinja", "{% for m in messages %}\n{{ m['content'] }\n{% endfor %}")
    write(tmp_path / "fake.gguf", "not a model")
    write(tmp_path.parent / "outside.jinja", LLAMA3_LIKE)
    write(tmp_path / "strict.jinja", "{% if messages[0]['role'] == 'system' %}"
                                     "{{ raise_exception('system messages are not supported') }}{% endif %}"
                                     "{% for m in messages %}[{{ m['content'] }}]{% endfor %}")
    with FakeTeacher(raw="completions", rules=[QUERY_RULE]) as server:
        res = distill("run", str(_cfg(tmp_path, server.url, f"system: {SYSTEM}, chat_template: {value}")))
        assert _prompts(server) == []
    assert res.returncode == 2, res.stderr
    assert "options.chat_template" in res.stderr and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_a_chat_only_server_given_a_template_is_refused_at_the_first_query(tmp_path):
    with FakeTeacher() as server:  # /v1/chat/completions only: the template is no help without raw completions
        res = distill("run", str(_cfg(tmp_path, server.url, "chat_template: chatml")))
        assert server.stats()["answered"] == 0
    assert res.returncode == 1
    assert "serves chat only" in res.stderr and "raw completions" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(("family", "system", "prefix", "stop"), [
    ("chatml", None, "<|im_start|>user\n", "<|im_end|>"),
    ("chatml", SYSTEM, CHATML, "<|im_end|>"),
    ("qwen", None, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
                   "<|im_end|>\n<|im_start|>user\n", "<|im_end|>"),
    ("qwen", SYSTEM, CHATML, "<|im_end|>"),
    ("llama3", None, "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"),
    ("llama3", SYSTEM, f"<|start_header_id|>system<|end_header_id|>\n\n{SYSTEM}<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"),
])
def test_each_family_gives_its_pre_query_prefix_and_stop(tmp_path, family, system, prefix, stop):
    template = chat_templates.load(family, tmp_path, PathPolicy(tmp_path))
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": SENTINEL}]
    pq = split_rendered(template.render(messages), "t")
    assert (pq.prefix, pq.stop) == (prefix, [stop])


def test_a_gguf_gives_its_own_template_and_special_tokens(tmp_path):
    from distill.providers.local import packaged_gguf

    gguf = packaged_gguf()
    template = chat_templates.load(str(gguf), tmp_path, PathPolicy(gguf.parent))
    assert template.source == f"{gguf} (its tokenizer.chat_template)"
    assert (template.bos_token, template.eos_token) == ("<|im_start|>", "<|im_end|>")
    pq = split_rendered(template.render([{"role": "user", "content": SENTINEL}]), "t")
    assert pq.prefix == ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                         "<|im_end|>\n<|im_start|>user\n") and pq.stop == ["<|im_end|>"]
    with pytest.raises(InputError, match="outside"):  # the path policy holds for a model file too
        chat_templates.load(str(gguf), tmp_path, PathPolicy(tmp_path))


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama-cpp-python's own server on the packaged SmolLM2 GGUF: /v1/completions, no template endpoint."""
    with serve_smollm2(tmp_path_factory.mktemp("llama")) as url:
        yield url


@pytest.mark.slow  # runs the real SmolLM2 model behind llama_cpp.server
@pytest.mark.parametrize("source", ["chatml", "gguf"])
def test_magpie_runs_on_llama_cpp_server_with_a_named_template(llama_server, tmp_path, source):
    from distill.providers.local import packaged_gguf

    value = "chatml" if source == "chatml" else str(packaged_gguf())
    out = tmp_path / "run"
    cfg = write(tmp_path / "m.yaml", f"""recipe: magpie
teacher: {{provider: openai, model: smollm2, base_url: {llama_server}}}
out: {out}
seed: 7
files_root: /
options:
  count: 3
  chat_template: {value}
  system: You are a helpful assistant. Answer every request in at most 40 words.
  query: {{temperature: 1.0, top_p: 1.0, max_tokens: 96}}
  answer: {{temperature: 0.0, max_tokens: 256}}
  tags: false
  language: null
  min_words: 2
  max_repetition: 1.0
  drop_incomplete: false
""")
    res = distill("run", str(cfg), "--no-progress", timeout=900)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["magpie"]["pre_query_template"] == ("<|im_start|>system\nYou are a helpful assistant. Answer "
                                                        "every request in at most 40 words.<|im_end|>\n"
                                                        "<|im_start|>user\n")
    assert manifest["magpie"]["stop"] == ["<|im_end|>"] and manifest["usage"]["teacher"]["failed"] == 0
    rows = read_jsonl(out / "data.jsonl")
    assert rows, (out / "rejected.jsonl").read_text()
    assert all(r["instruction"] and r["output"] for r in rows)
    assert all(SENTINEL not in r["instruction"] and "<|im_" not in r["instruction"] for r in rows)
