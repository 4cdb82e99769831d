"""Files a taxonomy or a recipe names, at the real boundary (the `distill` command): everything must lead inside the
files root (the recipe's folder, or the folder holding a validated taxonomy), so a shared taxonomy cannot put the
process environment, /etc/passwd or a file beside the project into teacher prompts and published records."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT, distill, write
from scripted_replies import KNOWLEDGE_RULES, LAB_RULES, copy_taxonomy

SECRET = "SECRET-TOKEN-7f3a9c"
LEAF = "knowledge/technology/solar_cooking/qna.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tmp/project/tax (the example taxonomy) and tmp/project/data/docs; tmp/secret/notes.md beside the project."""
    copy_taxonomy(tmp_path / "project")
    write(tmp_path / "secret" / "notes.md", f"The deploy key is {SECRET}.\n")
    return tmp_path / "project"


def _document(project: Path, repo: str, pattern: str, commit: str | None = None) -> Path:
    leaf = project / "tax" / LEAF
    block = f"document:\n  repo: {repo}\n" + (f"  commit: {commit}\n" if commit else "") + \
        f"  patterns:\n    - '{pattern}'\n"
    leaf.write_text(re.sub(r"document:\n[\s\S]*\Z", block, leaf.read_text()))
    return leaf


def _refused(res: subprocess.CompletedProcess[str], leaf: Path, *phrases: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "leaves valid" not in res.stdout
    assert re.search(re.escape(str(leaf)) + r":\d+: document: ", res.stderr), res.stderr
    for phrase in phrases:
        assert phrase in res.stderr, res.stderr
    assert SECRET not in res.stdout + res.stderr


@pytest.mark.parametrize("repo,pattern,phrase", [
    ("/proc/self", "environ", "never reads under /proc, /dev or /sys"),
    ("/etc", "passwd", "/etc is outside"),
    ("../../../../../secret", "*.md", "is outside"),  # `..` from the leaf's folder out of the project
])
def test_taxonomy_validate_refuses_a_document_outside_the_root(project, repo, pattern, phrase):
    leaf = _document(project, repo, pattern)
    _refused(distill("taxonomy", "validate", str(project / "tax"),
                     env={"DISTILL_SECRET_TEST": SECRET}), leaf, phrase)


def test_taxonomy_validate_refuses_a_symlink_inside_the_taxonomy_that_leads_out(project):
    docs = project / "tax" / "knowledge/technology/solar_cooking/docs"
    docs.mkdir()
    (docs / "x.md").symlink_to(project.parent / "secret" / "notes.md")
    leaf = _document(project, "docs", "x.md")
    _refused(distill("taxonomy", "validate", str(project / "tax")), leaf, "x.md leads to", "is outside")


def test_a_leaf_that_is_a_symlink_out_of_the_root_is_refused(project):
    haiku = project / "tax" / "compositional_skills/writing/haiku/qna.yaml"
    outside = project.parent / "secret" / "qna.yaml"
    shutil.move(haiku, outside)
    haiku.symlink_to(outside)
    res = distill("taxonomy", "validate", str(project / "tax"))
    assert res.returncode == 2 and "haiku/qna.yaml leads to" in res.stderr and "is outside" in res.stderr


def test_a_wider_root_is_an_explicit_choice(project):
    _document(project, "../../../../../secret", "*.md")
    res = distill("taxonomy", "validate", str(project / "tax"), "--files-root", str(project.parent))
    assert res.returncode == 0 and "1 document(s)" in res.stdout, res.stderr


@pytest.mark.parametrize("how", ["gitdir file", ".git symlink"])
def test_a_git_document_repo_must_keep_its_objects_inside_the_root(project, how):
    outside = project.parent / "secret"
    git = ["git", "-C", str(outside), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(outside)], check=True)
    subprocess.run(git + ["add", "notes.md"], check=True)
    subprocess.run(git + ["commit", "-qm", "secret"], check=True)
    repo = project / "tax" / "knowledge/technology/solar_cooking/docrepo"
    repo.mkdir()
    if how == "gitdir file":
        (repo / ".git").write_text(f"gitdir: {outside / '.git'}\n")
    else:
        (repo / ".git").symlink_to(outside / ".git", target_is_directory=True)
    leaf = _document(project, "docrepo", "*.md", commit="HEAD")
    _refused(distill("taxonomy", "validate", str(project / "tax")), leaf,
             "plain clone" if how == "gitdir file" else "is outside")


def test_a_lab_run_never_sends_the_environment_to_the_teacher(project, teacher_server):
    """The report of issue #29: `repo: /proc/self, patterns: [environ]` put the process environment, API key
    included, in teacher prompts, rejected.jsonl and the cache. The run now stops before any call."""
    teacher_server.configure(rules=LAB_RULES)
    leaf = _document(project, "/proc/self", "environ")
    cfg = write(project / "lab.yaml", f"""recipe: lab
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
out: {project / 'run'}
options: {{taxonomy: tax, questions_per_seed: 1, contexts_per_seed: 1, questions_per_context: 1}}
""")
    res = distill("run", str(cfg), "--no-progress", env={"DISTILL_SECRET_TEST": SECRET})
    assert res.returncode == 2 and "options.taxonomy" not in res.stderr, res.stderr
    assert f"{leaf}:" in res.stderr and "never reads under /proc" in res.stderr
    assert not any(SECRET in str(body) for body in teacher_server.bodies())
    assert not any(SECRET.encode() in f.read_bytes() for f in project.rglob("*") if f.is_file())


def test_a_knowledge_qa_documents_folder_with_a_symlink_out_is_refused(project, teacher_server):
    teacher_server.configure(rules=KNOWLEDGE_RULES)
    docs = project / "data" / "docs"
    (docs / "leak.md").symlink_to(project.parent / "secret" / "notes.md")
    cfg = write(project / "kqa.yaml", f"""recipe: knowledge_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
out: {project / 'run'}
options: {{documents: data/docs, chunk_words: 60, overlap_words: 10}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith("error: options.documents: ") and "leak.md leads to" in res.stderr
    assert not any(SECRET in str(body) for body in teacher_server.bodies())
    assert not (project / "run" / "data.jsonl").exists()
    # the user may widen the root on purpose; then the linked file is theirs to read
    res = distill("run", str(cfg), "--no-progress", "--set", f"files_root={project.parent}")
    assert res.returncode == 0, res.stderr
    assert any(SECRET in str(body) for body in teacher_server.bodies())


def test_the_shipped_lab_and_knowledge_qa_recipes_still_validate():
    res = distill("validate", str(ROOT / "recipes" / "lab.yaml"), str(ROOT / "recipes" / "knowledge_qa.yaml"))
    assert res.returncode == 0, res.stderr
    res = distill("taxonomy", "validate", str(ROOT / "recipes" / "taxonomy"))
    assert res.returncode == 0 and "1 document(s)" in res.stdout, res.stderr
