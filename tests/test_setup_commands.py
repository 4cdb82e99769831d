"""README's two set-up commands are what CI runs, and neither builds llama.cpp for the host's CPU."""

from __future__ import annotations

import re

from helpers import ROOT

PORTABLE = 'CMAKE_ARGS="-DGGML_NATIVE=OFF'


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Set up"):readme.index("\n## ", readme.index("## Set up") + 1)]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_readme_has_two_setup_commands_and_ci_runs_the_test_command_verbatim():
    commands = _setup_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    run, test = commands
    assert run.endswith("distill run recipes/respond.yaml") and test.endswith("python -m pytest -q tests")
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci_lines, "README's test command is not a line of .ci/run"


def test_every_install_of_llama_cpp_is_portable_and_skips_pips_cache():
    for command in _setup_commands():
        assert PORTABLE in command and "--no-cache-dir" in command, command
    assert "chromium" in _setup_commands()[1]  # the browser tests' dependency comes with the test command
