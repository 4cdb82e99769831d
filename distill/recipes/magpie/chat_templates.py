"""A chat template the user chose (magpie's `options.chat_template`), for a teacher that cannot render its own.

Three forms, told apart by the value alone (`check_form`, at config time):

* a family name (`chatml`, `llama3`, `qwen`): distill's own template, `prompts/chat_templates/<name>.jinja`;
* a path ending in `.gguf`: that model file's `tokenizer.chat_template` metadata, read with the `gguf` package
  (nothing else of the file is loaded), with its BOS and EOS token texts;
* any other path (`.jinja`, `.j2`, ...): a file holding the template's jinja2 text.

A path is relative to the recipe file and read through the config's path policy (`files_root`). Every failure —
a missing file, a GGUF without a template, a syntax error, a template that raises — is an `InputError` (exit 2)
naming `options.chat_template`, raised by `load` before any call or by `ChatTemplate.render` at the run's start.
The template is configuration, not model output: it is rendered in jinja2's immutable sandbox, with the variables
Hugging Face templates expect (`messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `raise_exception`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.errors import InputError
from distill.prompts import prompts_dir

KEY = "options.chat_template"
FAMILY_DIR = "chat_templates"


def families() -> list[str]:
    """The family names distill ships a template for."""
    return sorted(p.stem for p in (prompts_dir() / FAMILY_DIR).glob("*.jinja"))


def is_path(value: str) -> bool:
    return "/" in value or os.sep in value or "." in value


def check_form(value: str) -> str:
    """`value` if it is a family name or looks like a path; else ValueError listing the families."""
    if not value.strip():
        raise ValueError("empty; give a family name, a .jinja file or a .gguf file")
    if not is_path(value) and value not in families():
        raise ValueError(f"{value!r} is no chat template family distill knows ({', '.join(families())}); give one "
                         "of those, a path to a .jinja file holding the template, or the model's .gguf file")
    return value


@dataclass(frozen=True)
class ChatTemplate:
    source: str  # what it came from, for the manifest and messages
    text: str
    bos_token: str = ""
    eos_token: str = ""

    def render(self, messages: list[dict[str, str]]) -> str:
        """`messages` through the template, generation prompt included; InputError naming the key if it fails."""
        from jinja2 import TemplateError

        try:
            return str(_compile(self.text, self.source).render(
                messages=messages, add_generation_prompt=True, bos_token=self.bos_token, eos_token=self.eos_token))
        except TemplateError as exc:
            raise InputError(f"{KEY}: {self.source}: the template failed on a conversation of "
                             f"{'/'.join(m['role'] for m in messages)} turns: {exc}") from None


def load(value: str, base: Path, policy: Any) -> ChatTemplate:
    """The template `value` names (see the module docstring); paths relative to `base`, read through `policy`."""
    if not is_path(value):
        check_form(value)
        text = (prompts_dir() / FAMILY_DIR / f"{value}.jinja").read_text(encoding="utf-8")
        template = ChatTemplate(source=f"{value} (distill's {FAMILY_DIR}/{value}.jinja)", text=text)
    elif value.lower().endswith(".gguf"):
        template = _from_gguf(value, Path(base, os.path.expanduser(value)), policy)
    else:
        text = policy.read_text(Path(base, os.path.expanduser(value)), KEY)
        template = ChatTemplate(source=value, text=text)
    _compile(template.text, template.source)  # a syntax error fails here, before any call
    return template


def _from_gguf(value: str, path: Path, policy: Any) -> ChatTemplate:
    real = policy.contained(path, KEY)
    try:
        mode = os.stat(real).st_mode
        with open(real, "rb") as fh:
            magic = fh.read(4) if stat.S_ISREG(mode) else b""
    except OSError as exc:
        raise InputError(f"{KEY}: {value}: cannot read ({exc.strerror})") from None
    if magic != b"GGUF":
        raise InputError(f"{KEY}: {value} is not a GGUF model file (it does not start with GGUF)")
    try:
        from gguf import GGUFReader
    except ImportError:
        raise InputError(f"{KEY}: reading {value}'s chat template needs the gguf package (pip install gguf); or "
                         "name a family or a .jinja file instead") from None
    try:
        fields = GGUFReader(str(real)).fields
        template = fields["tokenizer.chat_template"].contents() if "tokenizer.chat_template" in fields else None
        tokens = fields.get("tokenizer.ggml.tokens")
        specials = {}
        for name in ("bos", "eos"):
            ids = fields.get(f"tokenizer.ggml.{name}_token_id")
            specials[name] = str(tokens.contents(int(ids.contents()))) if tokens is not None and ids is not None else ""
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail the parser in many ways; the user hears which
        raise InputError(f"{KEY}: {value}: cannot read its GGUF metadata ({type(exc).__name__}: {exc})") from None
    if not isinstance(template, str) or not template.strip():
        raise InputError(f"{KEY}: {value} has no tokenizer.chat_template in its metadata; name the model's family "
                         f"({', '.join(families())}) or a .jinja file holding its template instead")
    return ChatTemplate(source=f"{value} (its tokenizer.chat_template)", text=template,
                        bos_token=specials["bos"], eos_token=specials["eos"])


def _raise(message: str) -> None:
    from jinja2 import TemplateError

    raise TemplateError(f"the template raised: {message}")


def _compile(text: str, source: str) -> Any:
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = _raise
    try:
        return env.from_string(text)
    except TemplateSyntaxError as exc:
        raise InputError(f"{KEY}: {source}: template syntax error on line {exc.lineno}: {exc.message}") from None
