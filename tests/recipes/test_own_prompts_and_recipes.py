"""Your own prompts and recipes: a recipe YAML replaces a packaged template with a file of yours (checked for the
variables the stage passes), names a recipe class of yours by `module:Class` or `file.py:Class`, and
`distill recipes NAME` / `validate --schema` say what options a recipe takes."""

from __future__ import annotations

import json

from helpers import distill, read_jsonl, recipe_yaml, write

OWN_RECIPE = '''
"""shout: answers every instruction in capitals (a user's recipe, written outside distill)."""
from pydantic import BaseModel, ConfigDict

from distill.recipes.base import Recipe
from distill.run.folder import order_key
from distill.run.records import make_record


class ShoutOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suffix: str = "!"


class Shout(Recipe):
    name = "shout"
    summary = "answer in capitals"
    Options = ShoutOptions

    async def run(self):
        ctx = self.ctx
        await ctx.map(ctx.inputs(), self.one)

    async def one(self, row):
        messages = [{"role": "user", "content": row.instruction}]
        item = {"index": row.index, "instruction": row.instruction}
        completion = await self.ctx.call(order_key(row.index), "shout", item, self.ctx.teacher.complete(messages))
        if completion is None:
            return
        text = completion.choices[0].text.upper() + self.options.suffix
        self.ctx.accept(order_key(row.index), "shout", make_record(instruction=row.instruction, input="", output=text,
                                                           meta={"recipe": "shout"}))
'''


def _inputs(tmp_path, n=2):
    return write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Hello {i}"}) + "\n" for i in range(n)))


def test_a_template_of_your_own_replaces_the_packaged_one(tmp_path, teacher_server):
    write(tmp_path / "mine.j2", "PLEASE ANSWER: {{ instruction }}")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, _inputs(tmp_path), tmp_path / "run",
                      prompts="{respond/user.j2: mine.j2}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert teacher_server.last()["messages"][-1]["content"] == "PLEASE ANSWER: Hello 1"
    card = (tmp_path / "run" / "README.md").read_text()
    assert "prompts/respond/user.j2 (replaced by mine.j2)" in card and "PLEASE ANSWER" in card
    # editing your template rebuilds the records (its content is part of the run's key)
    write(tmp_path / "mine.j2", "ANSWER BRIEFLY: {{ instruction }}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0 and "calls 2 new" in res.stdout, res.stdout
    assert teacher_server.last()["messages"][-1]["content"] == "ANSWER BRIEFLY: Hello 1"


def test_a_template_that_cannot_work_is_refused_before_any_call(tmp_path, teacher_server):
    write(tmp_path / "bad.j2", "{{ instruction }} and {{ persona }}")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, _inputs(tmp_path), tmp_path / "run",
                      prompts="{respond/user.j2: bad.j2}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 2
    assert "uses persona, which the stage rendering respond/user.j2 does not pass" in res.stderr, res.stderr
    assert "it passes: input, instruction" in res.stderr
    assert teacher_server.stats()["requests"] == 0 and not (tmp_path / "run").exists()

    write(tmp_path / "broken.j2", "line one\n{% if instruction %}\nno end")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, _inputs(tmp_path), tmp_path / "run",
                      prompts="{respond/user.j2: broken.j2}")
    res = distill("validate", str(cfg))
    assert res.returncode == 2 and f"{tmp_path / 'broken.j2'}:2: template syntax error" in res.stderr, res.stderr
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, _inputs(tmp_path), tmp_path / "run",
                      prompts="{respond/usr.j2: broken.j2}")
    res = distill("validate", str(cfg))
    assert res.returncode == 2 and "no packaged template 'respond/usr.j2'" in res.stderr
    assert "respond/user.j2" in res.stderr


def test_your_own_recipe_class_from_a_file_or_a_module(tmp_path, teacher_server, monkeypatch):
    write(tmp_path / "shout.py", OWN_RECIPE)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, _inputs(tmp_path), tmp_path / "run",
                      options="{suffix: '!!'}")
    cfg.write_text(cfg.read_text().replace("recipe: respond", "recipe: shout.py:Shout"))
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    rows = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert len(rows) == 2 and rows[0]["output"].startswith("ANSWER ") and rows[0]["output"].endswith("!!")

    cfg.write_text(cfg.read_text().replace("recipe: shout.py:Shout", "recipe: shout:Shout")
                   .replace(str(tmp_path / "run"), str(tmp_path / "run2")))
    res = distill("run", str(cfg), "--no-progress", env={"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    assert "calls 0 new, 2 cached" not in res.stdout  # a new folder: its own cache
    assert len(read_jsonl(tmp_path / "run2" / "data.jsonl")) == 2

    cfg.write_text(cfg.read_text().replace("recipe: shout:Shout", "recipe: shout:Nope"))
    res = distill("validate", str(cfg), env={"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 2 and "is not a Recipe subclass" in res.stderr


def test_a_bad_reference_to_your_own_recipe_stops_with_where_it_was_set(tmp_path, teacher_server):
    """Exit 2 naming the YAML line, for each way a `recipe: file.py:Class` reference can fail — a syntax error
    in the file included (it gives the file and line, not a traceback)."""
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, _inputs(tmp_path), tmp_path / "run")
    write(tmp_path / "broken.py", "from distill.recipes.base import Recipe\n\nclass Shout(Recipe)\n    pass\n")
    write(tmp_path / "shout.py", OWN_RECIPE)
    cases = {"missing.py:Shout": f"{tmp_path / 'missing.py'}: file not found",
             "broken.py:Shout": f"{tmp_path / 'broken.py'}:3: syntax error",
             "shout.py:Nope": "'shout.py:Nope' is not a Recipe subclass",
             "shout.py:ShoutOptions": "'shout.py:ShoutOptions' is not a Recipe subclass",
             "no_such_module:Shout": "cannot import 'no_such_module'"}
    for reference, message in cases.items():
        cfg.write_text(cfg.read_text().replace("recipe: respond", f"recipe: {reference}"))
        res = distill("validate", str(cfg))
        assert res.returncode == 2 and f"{cfg}:1: " in res.stderr and message in res.stderr, (reference, res.stderr)
        assert "Traceback" not in res.stderr
        cfg.write_text(cfg.read_text().replace(f"recipe: {reference}", "recipe: respond"))


def test_recipes_name_lists_options_and_templates():
    res = distill("recipes", "respond")
    assert res.returncode == 0
    assert "samples: int = 1" in res.stdout and "answers per instruction" in res.stdout
    assert "system_prompt: str | None = None" in res.stdout
    assert "respond/user.j2: input, instruction" in res.stdout
    schema = json.loads(distill("validate", "--schema").stdout)
    assert schema["x-recipe-options"]["math_qa"]["properties"]


def test_a_system_prompt_of_your_own(tmp_path, teacher_server):
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, _inputs(tmp_path, 1), tmp_path / "run",
                      options="{system_prompt: 'You are terse.'}")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert teacher_server.last()["messages"][0] == {"role": "system", "content": "You are terse."}
    row = read_jsonl(tmp_path / "run" / "data.jsonl")[0]
    assert row["messages"][0] == {"role": "system", "content": "You are terse."}


def test_your_own_recipe_rejects_a_refused_prompt_and_the_run_goes_on(tmp_path, teacher_server):
    """Written as README shows (`ctx.call`), a recipe of yours records a prompt the endpoint refuses for good (too
    long for the model's context) as that item's rejection; the other items are kept and the run ends normally."""
    write(tmp_path / "shout.py", OWN_RECIPE)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": t}) + "\n" for t in ("Hello", "x" * 200)))
    teacher_server.configure(max_prompt_chars=100)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    cfg.write_text(cfg.read_text().replace("recipe: respond", "recipe: shout.py:Shout"))
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert [r["instruction"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")] == ["Hello"]
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert [(r["stage"], r["reason"], r["item"]["index"]) for r in rejected] == [("shout", "context_length", 1)]
