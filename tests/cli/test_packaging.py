"""What a user gets from `pip install`: templates and recipes inside the wheel, a fast and helpful CLI."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT, distill


@pytest.mark.slow
def test_wheel_ships_prompt_templates_and_recipes(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                          "-w", str(tmp_path), "-q"], capture_output=True, text=True)
    if res.returncode != 0 and "hatchling" in res.stderr:
        res = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(tmp_path),
                              "-q"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    wheel = next(tmp_path.glob("distill-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "distill/_data/prompts/respond/user.j2" in names
    assert "distill/_data/recipes/respond.yaml" in names
    assert "distill/_data/recipes/data/instructions.jsonl" in names


def test_importing_distill_and_help_import_no_heavy_library():
    code = ("import sys; from distill.cli.main import build_parser; build_parser().format_help(); "
            "import distill.recipes.respond.recipe, distill.run.runner; "
            "heavy = [m for m in ('openai', 'aiohttp', 'datasets', 'torch', 'transformers', 'llama_cpp') "
            "if m in sys.modules]; print(heavy)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr


def test_help_imports_no_third_party_library_at_all():
    """`distill --help` stays well under 0.1 s: building every command's parser imports nothing outside the standard
    library (pydantic alone costs ~0.1 s to import on a busy 2-core machine)."""
    code = ("import sys; before = set(sys.modules); from distill.cli.main import build_parser; "
            "build_parser().format_help(); "
            "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(m for m in new - set(sys.stdlib_module_names) if m != 'distill'))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr


def test_help_explains_every_command():
    res = distill("--help")
    assert res.returncode == 0
    for command in ("run", "validate", "recipes", "show", "export"):
        assert command in res.stdout
    res = distill("run", "--help")
    assert "--dry-run" in res.stdout and "openai:MODEL@" in res.stdout


def test_recipes_lists_respond_and_validate_accepts_the_shipped_config():
    res = distill("recipes")
    assert res.returncode == 0 and "respond" in res.stdout and "respond.yaml" in res.stdout
    res = distill("validate", str(ROOT / "recipes" / "respond.yaml"))
    assert res.returncode == 0 and "30 input rows" in res.stdout
