"""The scripted replies the recipe tests run on (FakeTeacher `rules`: the first rule whose regex matches the last
user message answers it), shared with the tests that run several recipes: the re-run and dry-run checks of every
recipe, the Ray executor, the server families, the ROUGE cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import ROOT

# --- self_instruct and alpaca ---------------------------------------------------------------------------------
FESTIVAL = "Describe the {h} festival for {h}a visitors and {h}b guests {h}c"  # mostly unique words per reply
BOOTSTRAP_REPLY = (f"{FESTIVAL}\n10. Draw a cat in the snow today\n"
                   "11. Write a program to sort numbers quickly\n12. - dash start task for you\n13. Hi there\n"
                   f"14. {FESTIVAL}\n15. Über-style tips for a nurse applying")
SELF_INSTRUCT_RULES = [
    # round >= 1: prompts that already show machine instructions come back cut off -> discarded
    {"match": r"festival[\s\S]*\n9\.$", "reply": "Plan a {h} party", "finish_reason": "length"},
    {"match": r"Invent a list of new", "reply": BOOTSTRAP_REPLY},
    {"match": r"Task: Describe the \w+ festival[^\n]*\nIs it classification\?$", "reply": "No"},
    {"match": r"Task: Describe the \w+ festival[^\n]*$",
     "reply": "Example 1\nInput: spring\nOutput: It is lively.\nExample 2\nInput: winter\nOutput: winter\n"
              "Example 3\nInput: summer:\nOutput: Hot\nExample 4\nOutput: Bring a hat."},
]

ALPACA_REPLY = ("Name the {h} capital of {h}a made-up {h}b country {h}c {h}d\n4. Input:\n<noinput>\n4. Output:\n"
                "Zorbia City\n###\n"
                "5. Instruction: Summarize the {h}e {h}f text {h}g in one line\n5. Input:\nCats sleep a lot.\n"
                "5. Output:\nCats nap often.\n###\n6. Instruction: Compose music for a {h}c song about rain\n"
                "6. Input:\n<noinput>\n6. Output:\nLa la la\n###\n7. Instruction: broken item with no fields")

# --- evol_instruct --------------------------------------------------------------------------------------------
EVOL_RULES = [
    # complexity judge: more "harder" words, higher score
    {"match": r"rate how difficult[\s\S]*Text:\nSolution:",
     "reply": '{"rationale": "r", "kind": "answer", "score": 4}'},
    {"match": r"rate how difficult[\s\S]*harder harder harder harder",
     "reply": '{"rationale": "r", "kind": "instruction", "score": 9}'},
    {"match": r"rate how difficult[\s\S]*harder harder harder",
     "reply": '{"rationale": "r", "kind": "instruction", "score": 7}'},
    {"match": r"rate how difficult[\s\S]*harder harder",
     "reply": '{"rationale": "r", "kind": "instruction", "score": 5}'},
    {"match": r"rate how difficult[\s\S]*harder", "reply": '{"rationale": "r", "kind": "instruction", "score": 3}'},
    {"match": r"rate how difficult", "reply": '{"rationale": "r", "kind": "instruction", "score": 1}'},
    # equality check
    {"match": r"First instruction:\ngamma[\s\S]*Are they equal", "reply": "Equal"},
    {"match": r"Are they equal", "reply": "Not Equal"},
    # evolution
    # a chat model's leading "#Rewritten Prompt#:" label is taken off (rewrite_parse); copied words inside remain
    {"match": r"(?:Original prompt|Programming task):\nbeta",
     "reply": "#Rewritten Prompt#: beta task, but more than the given prompt"},
    {"match": r"(?:Original prompt|Programming task):\neta", "reply": "eta task, in other words"},
    {"match": r"(?:Original prompt|Programming task):\ntheta", "reply": "Solution: theta comes to 42."},
    {"match": r"(?:Original prompt|Programming task):\n([\s\S]*)$", "reply": "\\1 harder"},
    # answers (the prompt is the instruction alone)
    {"match": r"^delta", "reply": "Sorry, I cannot help with that."},
    {"match": r"^epsilon", "reply": "The, of and to!"},
]
EVOL_ROOTS = ["alpha task", "beta task", "gamma task", "delta task", "epsilon task"]

# --- personas -----------------------------------------------------------------------------------------------
PERSONAS_RULES = [
    {"match": r"beekeeper[\s\S]*Write one math word problem", "reply": "A hive holds {h} bees in spring and twice "
                                                                       "as many in summer. How many in summer?"},
    {"match": "Write one math word problem", "reply": "Problem: A baker fills 12 trays with 8 muffins each. "
                                                      "How many muffins are there in total?"},
    {"match": "Write one request", "reply": "Request: Plan a weekly timetable {h} around my shifts and study."},
    {"match": "Write one programming task", "reply": "Write a function that parses log line {h} and returns its "
                                                     "timestamp."},
    {"match": "Write one question", "reply": "Why does the mechanism {h} behind this process matter so much?"},
    {"match": r"Solve the new problem[\s\S]*A hive holds", "reply": "So the answer is \\\\boxed{{h}}."},
    {"match": r"Solve the new problem[\s\S]*A baker", "reply": "12 x 8 = 96 muffins. The answer is \\\\boxed{96}."},
    {"match": "^Write a function that parses", "reply": "```python\ndef parse(line):\n    return line[:19]\n```"},
]

# --- lab ------------------------------------------------------------------------------------------------------
TAXONOMY = ROOT / "recipes" / "taxonomy"


def copy_taxonomy(tmp_path: Path) -> Path:
    """The example taxonomy and its documents copied under `tmp_path`, the knowledge leaf pointing at the copy."""
    root = tmp_path / "tax"
    shutil.copytree(TAXONOMY, root)
    docs = tmp_path / "data" / "docs"
    shutil.copytree(ROOT / "recipes" / "data" / "docs", docs)
    leaf = root / "knowledge/technology/solar_cooking/qna.yaml"
    leaf.write_text(leaf.read_text().replace("../../../../data/docs", str(docs)))
    return root


LAB_RULES = [
    # judges
    {"match": r"good practice question[\s\S]*Question: .*BADQ", "reply": '{"score": 0}'},
    {"match": r"good practice question", "reply": '{"score": 1}'},
    {"match": r"Rate how well the answer[\s\S]*Answer: .*WEAK", "reply": '{"rationale": "r", "score": 1}'},
    {"match": r"Rate how well the answer", "reply": '{"rationale": "r", "score": 3}'},
    {"match": r"fully supported by the passage[\s\S]*Answer: .*INVENTED", "reply": "NO"},
    {"match": r"fully supported by the passage", "reply": "YES"},
    {"match": r"Check the answer against the question[\s\S]*Question: .*OFFTOPIC",
     "reply": '{"subject": 1, "focus": 0}'},
    {"match": r"Check the answer against the question", "reply": '{"subject": 1, "focus": 1}'},
    {"match": r"understandable on its own[\s\S]*Question: .*the passage", "reply": '{"score": 0}'},
    {"match": r"understandable on its own", "reply": '{"score": 1}'},
    # generation (each echoes its leaf's first example so the test can see which seeds were used)
    {"match": r"Here are example questions for the task:\n\n- ([^\n]*)",
     "reply": "Write a haiku about {h} rivers\n2. BADQ write a limerick {h}\n3. Write a haiku about {h}b bees"},
    {"match": r"Write \d+ new contexts",
     "reply": "Context 1:\n| a | b |\n|---|---|\n| {h} | 2 |\nContext 2:\n| x | y |\n| {h} | z |"},
    {"match": r"Context:\n(\|[^\n]*)[\s\S]*different questions", "reply": "What is in row one?\n2. Which column is b?"},
    {"match": r"Question: Which column is b\?\nAnswer:$", "reply": "It is WEAK"},
    {"match": r"Question: [^\n]*\nAnswer:$", "reply": "A fine answer."},
    {"match": r"write \d+ new question-answer pairs",
     "reply": "Q1: How wide is the {h} oven?\nA1: 60 cm.\nQ2: Who paid for the {h} oven?\nA2: INVENTED a brewery.\n"
              "Q3: What does the passage say about {h} lids?\nA3: Keep steam in.\n"
              "Q4: Why choose a {h} box?\nA4: OFFTOPIC bread.\nQ5: How wide is the {h} oven?\nA5: dup"},
]

# --- math_qa --------------------------------------------------------------------------------------------------
WORKING = " We work it out carefully, one step after another, checking each intermediate value along the way." * 3
# rule replies go through re.Match.expand, so a literal backslash is written \\\\
MATH_RULES = [
    {"match": r"Write one new math word problem", "reply": "A baker has {h} trays with 4 rolls each. How many rolls?"},
    # seed problems with ground truth: two right, one wrong, one with two boxed answers, one without a box
    {"match": r"Problem:\nWhat is 2 \+ 2\?\n+Solution:$",
     "reply": "Two plus two." + WORKING + " The answer is \\\\boxed{4}. Extra words after the answer."},
    {"match": r"Problem:\nWhat is 3 \+ 3\?\n+Solution:$", "reply": "Three and three." + WORKING + " \\\\boxed{7}"},
    {"match": r"Problem:\nShort\?\n+Solution:$", "reply": "\\\\boxed{1}"},
    {"match": r"Problem:\nTwo boxes\?\n+Solution:$", "reply": "Maybe \\\\boxed{1} or \\\\boxed{2}." + WORKING},
    # no ground truth: the majority must decide
    {"match": r"Problem:\nA baker has[\s\S]*Solution:$",
     "reply": "Count the rolls." + WORKING + " \\\\boxed{12}"},
    {"match": r"Problem:\nNo truth\?\n+Solution:$", "reply": "Think." + WORKING + " \\\\boxed{0.5}"},
]

# --- knowledge_qa ---------------------------------------------------------------------------------------------
KNOWLEDGE_GEN = (
       "Q1 [factual]: What does the {h} device do?\nA1: It cooks food, \"reaches between 120 and 150 degrees\".\n"
       "Q2 [yes/no]: Does the passage mention it?\nA2: Yes.\n"
       "Q3 [comparison]: Tom has 12 marbles. He gives 5 to his sister and then buys 8 more. How many marbles does he"
       " have now?\nA3: 15.\n"
       "Q4 [factual]: What does the {h} device do?\nA4: Duplicate.\n"
       "Q5 [factual]: Who invented the {h}x widget?\nA5: An engineer named Rowe.\n"
       "Q6 [factual]: Is the {h} device cheap?\nA6: About 35 US dollars")
KNOWLEDGE_RULES = [
    {"match": r"Question: Does the passage", "reply": '{"supported": "yes", "standalone": "no", "answerable": "yes"}'},
    {"match": r"Question: Who invented", "reply": '{"supported": "no", "standalone": "yes", "answerable": "no"}'},
    {"match": r"Question: Is the \w+ device cheap", "reply": "I think so"},
    {"match": r"Reply with the verdict JSON only",
     "reply": '{"supported": "yes", "standalone": "yes", "answerable": "yes"}'},
    {"match": r"Read the passage and write", "reply": KNOWLEDGE_GEN},
]


# --- recipe configs the scripts above answer (a YAML text without `out:`; `url` is the scripted server's) ---------

def math_config(tmp_path: Path, url: str, rows: list[dict[str, str]], samples: int) -> str:
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {url}}}
input: {{path: {inp}, field: problem, input_field: null}}
options: {{samples: {samples}, augment: 1}}
"""


def knowledge_config(url: str, num: int | None = None) -> str:
    return f"""recipe: knowledge_qa
teacher: {{provider: openai, model: m, base_url: {url}}}
{f"num: {num}" if num is not None else ""}
options: {{documents: {ROOT / 'recipes' / 'data' / 'docs'}, chunk_words: 60, overlap_words: 10}}
files_root: {ROOT / 'recipes'}
"""


def lab_config(tmp_path: Path, url: str, questions_per_seed: int, contexts_per_seed: int) -> str:
    return f"""recipe: lab
teacher: {{provider: openai, model: m, base_url: {url}}}
seed: 3
options: {{taxonomy: {copy_taxonomy(tmp_path)}, questions_per_seed: {questions_per_seed},
           contexts_per_seed: {contexts_per_seed}, questions_per_context: 2, chunk_words: 60, raft_p: 0.4}}
"""
