"""Keeping secrets and terminal tricks out of everything distill shows or stores.

First by value: every function here masks the secrets distill was given (distill/secrets.py remembers them as it
reads them). Then by shape, as a second net for a secret distill never held (a server echoing someone else's
key, an old manifest): a key can reach distill in more places than `api_key_env`: inside a URL (`https://user:KEY@host/v1`,
`...?api-key=KEY`), in `extra_body` (`{"api_key": ...}`), on the command line, or echoed back by a server in an
error body (`Authorization: Bearer KEY`). Everything that is written to the run folder, the dataset card, the Hub
or the terminal passes through one of these functions first:

* `redact_url` — a URL with its userinfo and secret-named query values masked;
* `redact_text` — the same for every URL inside free text, plus bearer tokens, `name: value` / `name=value`
  pairs whose name is secret-like, and well-known key shapes (`sk-...`, `hf_...`, `ghp_...`, `AKIA...`);
* `redact_tree` — a JSON-like value with secret-named keys masked and every string redacted;
* `redact_manifest` — a manifest's config secrets remembered, then the manifest redacted as a tree;
* `clean_text` — server-supplied text made safe to print or store: ANSI escapes, control and bidi characters
  removed, secrets redacted, length bounded.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from distill.secrets import MASK, is_secret_name, mask, name_parts, names_a_secret, register_config
from distill.secrets import QUERY_PAIR as _QUERY_PAIR
from distill.secrets import USERINFO as _USERINFO

__all__ = ["MASK", "clean_text", "is_secret_name", "looks_like_key", "redact_manifest", "redact_text",
           "redact_tree", "redact_url", "strip_controls"]
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=\-]{6,}"
                     r"|\b(basic)(\s+)(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}")
# a name starts after no letter, `_` or `-`: a start inside a name could only match where the name's own start
# did (the same text must follow), and trying each made a long run of letters quadratic
_NAMED = re.compile(r"""(?x)(["']?)(?<![A-Za-z_\-])([A-Za-z][A-Za-z0-9_\-]*)\1(\s*[:=]\s*)(["']?)"""
                    r"""([^"'\s,;&}\]]*[^"'\s,;&}\]:])""")
_KEY_SHAPES = re.compile(r"\b(?:sk-[A-Za-z0-9_\-]{12,}|hf_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
                         r"|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}"
                         r"|AIza[0-9A-Za-z_\-]{30,}|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]+)")
_ANSI = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def redact_url(url: str) -> str:
    """`https://user:KEY@host/v1?api-key=KEY` -> `https://user:***@host/v1?api-key=***`."""
    url = mask(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    query = _QUERY_PAIR.sub(_mask_pair, "?" + parts.query)[1:] if parts.query else parts.query
    fragment = redact_text(parts.fragment) if parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _mask_pair(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}={MASK}" if is_secret_name(m.group(2)) and m.group(3) else m.group(0)


def _mask_userinfo(m: re.Match[str]) -> str:
    user, colon, _ = m.group(2).partition(":")
    return f"{m.group(1)}{user}:{MASK}@" if colon else f"{m.group(1)}{MASK}@"


def _mask_named(m: re.Match[str]) -> str:
    name, value = m.group(2), m.group(5)
    if value in (MASK, "null", "None", "true", "false"):
        return m.group(0)
    # in free text only a credential-like value is masked (8+ characters with a digit), so that `KEY=VALUE` or
    # `max_token: unknown key` stay readable; `api_key_env=<a pasted key>` counts as a secret name here
    if len(value) < 8 or not any(c.isdigit() for c in value):
        return m.group(0)
    pasted = looks_like_key(value) and names_a_secret(name_parts(name))
    if not (is_secret_name(name) or pasted):
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(4)}{MASK}"


def redact_text(text: str) -> str:
    """Every secret distill can recognise in free text (a message, a command line), masked — including any
    `name: value` / `name=value` whose name is secret-like."""
    if not text:
        return text
    return _KEY_SHAPES.sub(MASK, _NAMED.sub(_mask_named, _redact_value(mask(text))))


def _redact_value(text: str) -> str:
    """URL credentials and bearer tokens: what can hide in a config value (a prompt's `key: value` is left)."""
    text = _USERINFO.sub(_mask_userinfo, text)
    text = _QUERY_PAIR.sub(_mask_pair, text)
    return _BEARER.sub(lambda m: f"{m.group(1) or m.group(3)}{m.group(2) or m.group(4)}{MASK}", text)


def redact_tree(value: Any, *, _key: str = "") -> Any:
    """A JSON-like value (a manifest) with every secret-named key's value masked, URL credentials, bearer tokens
    and key shapes masked in every string, and a `command` string redacted as free text."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and is_secret_name(k) and _is_set(v) else redact_tree(v, _key=k))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    if isinstance(value, str):
        return redact_text(value) if _key == "command" else _KEY_SHAPES.sub(MASK, _redact_value(mask(value)))
    return value


def redact_manifest(manifest: dict[str, Any]) -> Any:
    """A manifest as it may be written, shown or pushed: the secrets of its config remembered first (so that a
    value quoted elsewhere, in the command line say, is masked too, even in a manifest written before masking by
    value existed), then redacted as a tree."""
    register_config(manifest.get("config"))
    return redact_tree(manifest)


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and not isinstance(value, bool)


def strip_controls(text: str) -> str:
    """ANSI escape sequences, control characters (tab and newline kept) and bidi overrides removed."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def clean_text(text: str, limit: int = 300) -> str:
    """Text that came from a server, safe to print or store: one line, no escapes, no secrets, at most `limit`
    characters (plus an ellipsis)."""
    text = " ".join(strip_controls(text[: 16 * limit]).split())
    text = redact_text(text)
    return text if len(text) <= limit else text[:limit] + "..."


def looks_like_key(value: str) -> bool:
    """Whether a string looks like a credential rather than a name (for `api_key_env`)."""
    if _KEY_SHAPES.search(value):
        return True
    return (len(value) >= 20 and "_" not in value and any(c.islower() for c in value)
            and any(c.isdigit() for c in value))
