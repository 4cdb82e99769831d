"""The secret values distill was given, remembered by value, and `mask`: every occurrence of any of them -> `***`.

Shapes are not enough to find a secret in text: a key not shaped like `sk-...`, a password under 8 characters or
without a digit, `{token: X}` on a command line all read like ordinary words. But distill knows every secret it
was given, so it remembers the values themselves the moment it reads them:

* every key read from the environment (`read_env`): each role's `api_key_env`, the report's embeddings key, the
  Hub token used by `push` (`register`);
* in a run config (`register_config`, called on every config loaded, file plus `--set` / `--teacher`, and on
  every manifest before it is written, shown or pushed): in each model role's section (`teacher`, `judge`,
  `answer_teacher`, `reward`) every string under a secret-looking name (`api_key`, `token`, `password`,
  `Authorization`, `x-api-key`, ... at any depth of `extra_body` or headers) and, anywhere in the config, each
  credential inside a URL (`user:KEY@host`, `?api-key=KEY`).

`mask` replaces every occurrence of each remembered value, and of its JSON-, URL- and HTML-escaped forms, with
`***`. distill applies it at every sink: the console (`masked_console`, around the whole CLI: messages,
progress, warnings, even a traceback), each row of the run folder's JSONL files and every text file written
whole (run/folder.py: manifest, card, report), the card pushed to the Hub, and every `redact_*` function of
redact.py (which then masks by shape as a second net).

What it cannot promise: a value shorter than `MIN_LENGTH` characters, or a well-known placeholder such as `EMPTY`
(`PLACEHOLDERS`), is not remembered (it would mask ordinary words); a secret split across two separate console
writes is not recognised; the registry lives in one process (a Ray worker's texts are masked by the driver when
it writes or prints them); binary files (the cache, PNG images) are written as they are.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_LENGTH = 4
# stand-ins for "no key" that local servers' docs tell users to set (vLLM's `OPENAI_API_KEY=EMPTY`): not secrets,
# and masking them would turn ordinary words of the data ("none of the above") into ***
PLACEHOLDERS = frozenset({"none", "null", "empty", "dummy", "test", "fake", "token", "secret", "password", "apikey",
                          "api-key", "api_key", "placeholder", "not-needed", "notneeded", "no-key", "nokey",
                          "sk-no-key-required", "sk-xxx", "xxxx", "ollama", "lm-studio", "llama"})
ROLES = ("teacher", "judge", "answer_teacher", "reward")  # the config sections that describe a model endpoint
SECRET_PARTS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "pwd", "authorization",
                          "auth", "credential", "credentials", "signature", "sig", "bearer", "cookie", "session"})
_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s@?#]+)@")
QUERY_PAIR = re.compile(r"([?&;])([A-Za-z0-9_.\-]+)=([^&#\s\"'<>]*)")
_SCHEME = re.compile(r"(?i)^\s*(?:bearer|basic|token)\s+(\S+)\s*$")  # `Bearer X`: X is the secret too

_lock = threading.Lock()
_values: set[str] = set()
_text: tuple[re.Pattern[str] | None, tuple[str, ...]] = (None, ())
_bytes: tuple[re.Pattern[bytes] | None, tuple[bytes, ...]] = (None, ())


def name_parts(name: str) -> list[str]:
    """`X-Api-Key` -> ['x', 'api', 'key']; `apiKey` -> ['api', 'key']."""
    return [p.lower() for p in _PART.findall(name)]


def names_a_secret(parts: list[str]) -> bool:
    joined = "".join(parts)
    return any(p in SECRET_PARTS for p in parts) or "apikey" in joined or "accesskey" in joined


def is_secret_name(name: str) -> bool:
    """Whether a key / header / parameter name is one a secret hides under (`api_key`, `X-Api-Key`,
    `access_token`, `Authorization`, `password`), but not `max_tokens` or `api_key_env` (a variable's name)."""
    parts = name_parts(name)
    if not parts or parts[-1] == "env":
        return False
    return names_a_secret(parts)


# --- remembering ----------------------------------------------------------------------------------------------
def register(value: Any) -> None:
    """Remember a secret value (and its escaped forms) so that `mask` hides it from now on. Not a string, or
    shorter than `MIN_LENGTH` once stripped, or a placeholder (`EMPTY`, `none`, `dummy`, ...): ignored.
    `Bearer X` / `Basic X` / `token X`: X is remembered too."""
    if not isinstance(value, str):
        return
    value = value.strip()
    if len(value) < MIN_LENGTH or value.lower() in PLACEHOLDERS:
        return
    scheme = _SCHEME.match(value)
    if scheme:
        register(scheme.group(1))
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], quote(value, safe=""),
             quote_plus(value, safe=""), html.escape(value), html.escape(value, quote=False)}
    global _text, _bytes
    with _lock:
        if forms <= _values:
            return
        _values.update(forms)
        ordered = sorted(_values, key=len, reverse=True)  # the longest first: a value inside another goes whole
        _text = (re.compile("|".join(map(re.escape, ordered))), tuple(ordered))
        encoded = [v.encode("utf-8") for v in ordered]
        _bytes = (re.compile(b"|".join(map(re.escape, encoded))), tuple(encoded))


def read_env(name: str) -> str | None:
    """The secret in environment variable `name` (None when unset or empty), remembered before it is returned:
    the way distill reads every key from the environment."""
    value = os.environ.get(name) or None
    register(value)
    return value


def register_text_credentials(text: str) -> None:
    """Remember each credential inside a URL in `text`: the password (or token) of `user:KEY@host` and the value
    of each secret-named query parameter (`?api-key=KEY`)."""
    if "@" in text:
        for m in USERINFO.finditer(text):
            user, colon, password = m.group(2).partition(":")
            for value in (password,) if colon else (user,):
                register(value)
                register(unquote(value))
    if "=" in text:
        for m in QUERY_PAIR.finditer(text):
            if is_secret_name(m.group(2)):
                register(m.group(3))
                register(unquote(m.group(3)))


def register_config(config: Any) -> None:
    """Remember every secret in a run config (a mapping as loaded or as a manifest holds it): in each role's
    section every string under a secret-looking name, at any depth; anywhere, every credential inside a URL."""
    if not isinstance(config, Mapping):
        return
    for role in ROLES:
        _register_named(config.get(role), secret=False)
    _register_urls(config)


def _register_named(value: Any, *, secret: bool) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _register_named(v, secret=secret or (isinstance(k, str) and is_secret_name(k)))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _register_named(v, secret=secret)
    elif secret:
        register(value)


def _register_urls(value: Any) -> None:
    if isinstance(value, Mapping):
        for v in value.values():
            _register_urls(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _register_urls(v)
    elif isinstance(value, str):
        register_text_credentials(value)


# --- masking --------------------------------------------------------------------------------------------------
def mask(text: str) -> str:
    """`text` with every occurrence of every remembered secret replaced by `***`."""
    pattern, values = _text
    if pattern is None or not text or not any(v in text for v in values):
        return text
    return pattern.sub(MASK, text)


def mask_bytes(data: bytes) -> bytes:
    """The same for UTF-8 text held as bytes (a JSONL row, a JSON file)."""
    pattern, values = _bytes
    if pattern is None or not data or not any(v in data for v in values):
        return data
    return pattern.sub(MASK.encode(), data)


class MaskingStream:
    """A text stream (stdout, stderr) that masks remembered secrets in everything written to it; every other
    attribute (isatty, fileno, encoding, flush) is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream

    def write(self, text: str) -> int:
        self.wrapped.write(mask(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


@contextmanager
def masked_console() -> Iterator[None]:
    """stdout and stderr masked while the block runs (the whole CLI command), then restored."""
    saved = sys.stdout, sys.stderr
    sys.stdout = MaskingStream(sys.stdout)  # type: ignore[assignment]
    sys.stderr = MaskingStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
