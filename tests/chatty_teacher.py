"""A chat-completions server on 127.0.0.1 that answers every recipe stage the way frontier chat models do:
lead-in lines, markdown labels and headings, "1)" numbering, whole replies in code fences, trailing remarks,
<think> blocks (or a separate `reasoning_content`), CRLF line ends — mixed per request, deterministically from a
hash of the request. It honours `stop` (the content is cut at the first stop string, as real servers do) and `n`.

Every reasoning text contains the word PONDERING, and every lead-in and remark is one of LEAD_INS / REMARKS, so
a test can check that none of them reached a dataset. Run `python tests/chatty_teacher.py` (prints its port) or
use `ChattyTeacher` as a context manager. Config (JSON): {"math_answers": [[problem substring, answer], ...]}.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from typing import Any

from fake_teacher import FakeTeacher, serve_from_args

LEAD_INS = ["Sure! Here are some more:", "Certainly! Here you go:", "Here is what you asked for:",
            "Of course. Below are the items you requested:", "Absolutely, here they are:"]
REMARKS = ["Let me know if you'd like more!", "I hope these help with your dataset.",
           "Feel free to ask if you need any changes.", "Would you like me to add a few more?"]
REWRITE_LEAD_INS = ["Here is the rewritten prompt:", "Sure! Here's a new problem inspired by the original:"]
REWRITE_NOTES = ["This version adds a constraint, which makes it harder to answer well.",
                 "Let me know if you'd like me to solve it as well!"]
ADJ = ("amber brisk calm dusty eager frosty gentle hollow ivory jolly keen lanky mellow nimble oaken pale quiet "
       "rustic silver tidy upbeat vivid woolen young zesty bold crisp dainty fuzzy grand").split()
NOUN = ("anchor badger candle dune ember falcon garden harbor igloo jacket kettle lantern meadow nectar orchard "
        "pebble quilt river saddle tunnel umbrella valley walnut yarn zephyr barley canyon dolphin easel fjord "
        "glacier hammock island juniper kiosk lagoon mitten nutmeg otter parsnip quarry raven sparrow thistle").split()
VERB = ("Describe Explain Compare Summarize Suggest Outline List Rank Critique Propose Justify Contrast").split()


class Pick:
    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)

    def words(self, pool: list[str], k: int) -> list[str]:
        return self.rng.sample(pool, k)

    def phrase(self) -> str:
        a, b = self.words(ADJ, 2)
        n1, n2, n3 = self.words(NOUN, 3)
        return f"the {a} {n1} and the {b} {n2} near a {n3}"

    def instruction(self) -> str:
        return f"{self.rng.choice(VERB)} {self.phrase()}."

    def question(self) -> str:
        a, b = self.words(ADJ, 2)
        n1, n2, n3, n4 = self.words(NOUN, 4)
        opener = self.rng.choice(["Why", "How", "When", "Where"])
        return f"{opener} did the {a} {n1} follow the {b} {n2} past {n3} {n4}?"

    def sentence(self) -> str:
        a = self.words(ADJ, 1)[0]
        n1, n2 = self.words(NOUN, 2)
        return f"The {a} {n1} rests beside the {n2}."


def _styles(h: str) -> dict[str, bool]:
    r = random.Random(h)
    main = int(h[:8], 16) % 9
    return {"lead_in": main == 1 or r.random() < 0.4, "remark": main == 2 or r.random() < 0.4,
            "bold": main == 3, "headings": main == 4, "fence": main == 5, "paren": main == 6,
            "think": main == 7 or r.random() < 0.25, "crlf": main == 8 or r.random() < 0.15,
            "reasoning_field": r.random() < 0.2}


def _wrap(body: str, s: dict[str, bool], lead: str, remark: str) -> str:
    if s["fence"]:
        body = f"```\n{body}\n```"
    if s["lead_in"]:
        body = f"{lead}\n\n{body}"
    if s["remark"]:
        body = f"{body}\n\n{remark}"
    if s["think"]:
        body = f"<think>\nPONDERING what is asked.\n\nThen PONDERING the layout.\n</think>\n\n{body}"
    return body.replace("\n", "\r\n") if s["crlf"] else body


def _numbered(items: list[str], first: int, s: dict[str, bool], word: str = "Task") -> str:
    lines = []
    for k, item in enumerate(items, first):
        if s["bold"]:
            lines.append(f"**{k}.** {item}")
        elif s["headings"]:
            lines.append(f"### {word} {k}\n{item}\n")
        elif s["paren"]:
            lines.append(f"{k}) {item}")
        else:
            lines.append(f"{k}. {item}")
    return "\n".join(lines).strip()


def _label(name: str, s: dict[str, bool]) -> str:
    return f"**{name}:**" if s["bold"] else f"{name}:"


def _judge(prompt: str, p: Pick) -> str:
    if "Rate how difficult" in prompt:
        instruction = prompt.split("Instruction:\n", 1)[-1].split("\n\nReply with JSON", 1)[0]
        score = min(10, 1 + len(instruction.split()) // 4)  # longer rewrites rate harder
        return json.dumps({"rationale": "PONDERING the constraints.", "score": score})
    if "verdict JSON only" in prompt:
        return json.dumps({"supported": "yes", "standalone": "yes", "answerable": "yes"})
    if "Decide whether the answer is fully supported" in prompt:
        return json.dumps({"verdict": "YES"})
    if "Check the answer against the question" in prompt:
        return json.dumps({"subject": 1, "focus": 1})
    if "Rate how well the answer" in prompt:
        return json.dumps({"rationale": "Correct and complete.", "score": 3})
    if "good practice question" in prompt or "understandable on its own" in prompt:
        return json.dumps({"score": 1})
    return json.dumps({"rationale": "Clear and correct.", "score": 8})  # rubric judges (quality gate)


JUDGE_MARKS = ("Reply with JSON", "verdict JSON only", "Decide whether the answer is fully supported",
               "Reply with the verdict")


def reply_for(prompt: str, h: str, cfg: dict[str, Any]) -> tuple[str, str | None]:
    """(content, reasoning_content) for the last user message `prompt`."""
    s, p = _styles(h), Pick(h)
    lead, remark = p.rng.choice(LEAD_INS), p.rng.choice(REMARKS)
    reasoning = "PONDERING the request in a separate field." if s["reasoning_field"] else None
    if s["reasoning_field"]:
        s["think"] = False
    if any(m in prompt for m in JUDGE_MARKS):
        body = _judge(prompt, p)
        if s["fence"] or s["lead_in"]:
            body = f"```json\n{body}\n```"
        return _wrap(body, {**s, "fence": False}, "Here is my evaluation:", remark), reasoning
    if "Are they equal?" in prompt:
        return _wrap("**Not Equal**" if s["bold"] else "Not Equal", {**s, "fence": False}, "Comparing the two:",
                     "The second one adds a requirement."), reasoning
    if "Is it classification?" in prompt:
        task = prompt.rsplit("Task:", 1)[-1]
        word = "Yes" if "Classify" in task else "No"
        verdict = p.rng.choice([word, f"**{word}.**", f"{word}, it is{'' if word == 'Yes' else ' not'} one."])
        return _wrap(verdict, {**s, "lead_in": False, "remark": False, "fence": False}, lead, remark), reasoning
    m = re.search(r"\n(\d+)\.\s*$", prompt)
    if "Invent a list of new" in prompt and m:
        items = [p.instruction(), f"Classify the {p.phrase()} as calm or stormy."] + [p.instruction() for _ in range(3)]
        return _wrap(_numbered(items, int(m.group(1)), s), s, lead, remark), reasoning
    if "Write examples for each task" in prompt:
        pairs = [(" ".join(p.words(NOUN, 3)), p.sentence()) for _ in range(2)]
        blocks = []
        for k, (i, o) in enumerate(pairs, 1):
            head = f"### Example {k}" if s["headings"] else (f"**Example {k}**" if s["bold"] else f"Example {k}")
            if s["paren"]:
                blocks.append(f"{k}) Input: {i}\n   Output {k}: {o}")
            else:
                blocks.append(f"{head}\n{_label('Input', s)} {i}\n{_label('Output', s)} {o}")
        return _wrap("\n\n".join(blocks), s, lead, remark), reasoning
    if "list its possible class labels" in prompt:
        blocks = [f"{_label('Class label', s)} {label}\n{_label('Input', s)} {p.sentence()}"
                  for label in ("calm", "stormy")]
        return _wrap("\n\n".join(blocks), s, lead, remark), reasoning
    m = re.search(r"(\d+)\. Instruction:\s*$", prompt)
    if m:  # alpaca
        first, blocks = int(m.group(1)), []
        for k in range(first, first + 3):
            inp = "<noinput>" if k % 2 else " ".join(p.words(NOUN, 4))
            if s["headings"]:
                blocks.append(f"### Task {k}\n**Instruction:** {p.instruction()}\n**Input:** {inp}\n"
                              f"**Output:** {p.sentence()}")
            else:
                n = f"{k})" if s["paren"] else f"{k}."
                mark = "**" if s["bold"] else ""
                labels = {x: f"{mark}{n} {x}:{mark}" for x in ("Instruction", "Input", "Output")}
                blocks.append(f"{labels['Instruction']} {p.instruction()}\n{labels['Input']}\n{inp}\n"
                              f"{labels['Output']}\n{p.sentence()}")
        return _wrap("\n###\n".join(blocks), s, "Sure, here are 16 more tasks:", remark), reasoning
    m = re.search(r"(?:Original prompt|Programming task|Problem):\n([\s\S]*)$", prompt)
    if m and ("rewrite" in prompt or "brand-new prompt" in prompt or "more difficult" in prompt
              or "easier" in prompt or "Write one new math" in prompt):
        original = m.group(1).strip().split("\n\nNew problem:")[0].strip()
        if "Write one new math" in prompt:
            a, b = p.rng.randint(10, 60), p.rng.randint(10, 60)
            text = f"A {p.words(NOUN, 1)[0]} keeper has {a} jars and buys {b} more. How many jars are there?"
        else:
            text = f"{original.rstrip('.')}, and relate it to {p.phrase()}."
        label = "New Problem" if "math" in prompt or "Problem:" in prompt else "Rewritten Prompt"
        if s["bold"]:
            body = f"**{label}:** {text}"
        elif s["headings"]:
            body = f"## {label}\n\n{text}"
        elif s["think"]:
            body = f"#{label}#:\n{text}"
        else:
            body = text
        return _wrap(body, s, p.rng.choice(REWRITE_LEAD_INS), p.rng.choice(REWRITE_NOTES)), reasoning
    if "new questions for the same task" in prompt or "different questions about this context" in prompt:
        items = [p.question() for _ in range(3)]
        return _wrap(_numbered(items, 1, s, "Question"), s, lead, remark), reasoning
    if "new contexts of the same kind" in prompt:
        blocks = []
        for k in (1, 2):
            head = f"### Context {k}" if s["headings"] else (f"**Context {k}:**" if s["bold"] else f"Context {k}:")
            blocks.append(f"{head}\n{p.sentence()} {p.sentence()}")
        return _wrap("\n\n".join(blocks), s, lead, remark), reasoning
    if "question-answer pairs" in prompt:
        blocks = []
        for k, kind in enumerate(("factual", "yes/no", "comparison"), 1):
            q, a = p.question(), p.sentence()
            tag = f" [{kind}]" if "[kind]" in prompt else ""
            if s["paren"]:
                blocks.append(f"{k}) Q{tag}: {q}\n   A: {a}")
            elif s["headings"]:
                blocks.append(f"### Q{k}{tag}: {q}\nA{k}: {a}")
            else:
                blocks.append(f"{_label(f'Q{k}{tag}', s)} {q}\n{_label(f'A{k}', s)} {a}")
        return _wrap("\n\n".join(blocks), s, lead, remark), reasoning
    if "Solve the new problem step by step" in prompt:
        problem = prompt.rsplit("Problem:\n", 1)[-1].split("\n\nSolution:")[0]
        answer = next((a for sub, a in cfg.get("math_answers", []) if sub in problem), None)
        if answer is None:
            numbers = [int(x) for x in re.findall(r"\d+", problem)]
            answer = str(sum(numbers))
        steps = " ".join(p.sentence() for _ in range(6))
        return _wrap(f"We work through it carefully. {steps}\nSo the result is {answer}.\n"
                     f"The answer is \\boxed{{{answer}}}.", {**s, "lead_in": False, "remark": False, "fence": False},
                     lead, remark), reasoning
    # an answer (respond, evol answers, LAB answers): the content is the teacher's own; only reasoning and
    # line ends are chatty here
    answer = " ".join(p.sentence() for _ in range(3))
    return _wrap(answer, {**s, "lead_in": False, "remark": False, "fence": False, "bold": False}, lead,
                 remark), reasoning


def _cut(text: str, stop: list[str] | str | None) -> str:
    for st in [stop] if isinstance(stop, str) else stop or []:
        k = text.find(st)
        if k >= 0:
            text = text[:k]
    return text


def make_app(cfg: dict[str, Any]) -> Any:
    from aiohttp import web

    stats = {"requests": 0}

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        stats["requests"] += 1
        prompt = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        choices = []
        for i in range(int(body.get("n") or 1)):
            h = hashlib.sha256(json.dumps([body["messages"], body.get("seed"), body.get("temperature"), i],
                                          sort_keys=True).encode()).hexdigest()
            content, reasoning = reply_for(prompt, h, cfg)
            message: dict[str, Any] = {"role": "assistant", "content": _cut(content, body.get("stop"))}
            if reasoning:
                message["reasoning_content"] = reasoning
            choices.append({"index": i, "message": message, "finish_reason": "stop"})
        return web.json_response({"id": "chatcmpl-chatty", "object": "chat.completion", "created": int(time.time()),
                                  "model": body.get("model"), "choices": choices,
                                  "usage": {"prompt_tokens": len(prompt) // 4 + 1, "completion_tokens": 50}})

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/stats", get_stats)
    return app


class ChattyTeacher(FakeTeacher):
    """Starts the server in its own process; `url` is its OpenAI base URL."""


def main() -> None:
    serve_from_args(make_app, __doc__)


if __name__ == "__main__":
    main()
