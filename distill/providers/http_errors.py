"""Turning an HTTP status from an OpenAI-compatible server, or a failed connection, into what the engine should do.

Retry: 408, 409, 429, 5xx (Retry-After honoured). Stop the run with a message saying what to fix:
400 (usually the prompt is too long for the model's context), 401/403 (key), 404 (model or URL), 422.

The server's body is untrusted: before it is quoted in a message (printed, or stored in failed.jsonl) it is
sanitised by `redact.clean_text` — ANSI escapes and control characters removed, echoed `Authorization` headers,
bearer tokens and keys masked, cut to 300 characters.

`post` also applies the two rules on what a server sends: a reply body past its limit (`bounded_body.py`) rejects
the item it answers, and a redirect is never followed (`redirects.py`).
"""

from __future__ import annotations

from typing import Any

from distill.errors import RetryableError, TeacherError, TimedOut
from distill.redact import clean_text

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524})


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        import time
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


async def post(client: Any, path: str, payload: bytes, *, label: str, timeout: float | None = None,
               base: str = "", first: str | None = None) -> tuple[int, Any, bytes]:
    """`client.post(path, payload)` (http1 or aiohttp, on `base`) with transport failures turned into what the
    engine does: a timeout, a dropped connection or a refused one are retried, except that `first` (given until
    the endpoint has answered once: what to check) makes a refused connection stop the run, saying so."""
    import asyncio

    from distill.providers.bounded_body import ReplyTooLarge
    from distill.providers.http1 import ConnectFailed, Disconnected
    from distill.providers.redirects import REDIRECT_STATUSES, redirect_refused

    try:
        status, headers, raw = await client.post(path, payload)
    except ConnectFailed as exc:
        if first is not None:
            raise TeacherError(f"{label}: cannot connect to {base} ({exc.strerror or exc}).\n{first}") from None
        raise RetryableError(f"{label}: connection failed: {exc.strerror or exc}") from None
    except asyncio.TimeoutError:
        within = f" within {timeout:g}s" if timeout is not None else ""
        raise TimedOut(f"{label}: no answer{within} (timeout)") from None
    except ReplyTooLarge as exc:
        raise reply_too_large(exc, label=label) from None
    except (Disconnected, ConnectionError, OSError) as exc:
        raise RetryableError(f"{label}: connection dropped: {exc}") from None
    if status in REDIRECT_STATUSES:
        raise redirect_refused(status, headers.get("location"), label=label, url=client.base_url + path)
    return status, headers, raw


def reply_too_large(exc: Any, *, label: str) -> Exception:
    """An oversized reply rejects its item (`Refused("reply_too_large")`): the message quotes the reply's first
    bytes, sanitised; the rest was never read."""
    from distill.providers.openai_refusals import Refused

    prefix = clean_text(exc.prefix.decode("utf-8", "replace"), 200)
    return Refused("reply_too_large", f"{label}: {exc} (raise max_reply_bytes if such replies are expected); "
                                      f"it began: {prefix!r}")


def error_for_status(status: int, body: str, *, label: str, retry_after: str | None = None) -> Exception:
    snippet = clean_text(body)
    if status in RETRY_STATUSES or status >= 500:
        return RetryableError(f"HTTP {status} from {label}: {snippet}", retry_after=parse_retry_after(retry_after),
                              status=status)
    if status in (401, 403):
        return TeacherError(
            f"{label} rejected the API key (HTTP {status}): {snippet}\n"
            "Check the environment variable named by `api_key_env` (default OPENAI_API_KEY) for this teacher.")
    if status == 404:
        return TeacherError(
            f"{label} answered 404 Not Found: {snippet}\n"
            "Check the model name and that base_url ends with the API root (e.g. http://host:8000/v1).")
    if status == 400 and any(w in body.lower() for w in ("context", "maximum", "too long", "tokens")):
        return TeacherError(
            f"{label} refused a prompt as too long for the model (HTTP 400): {snippet}\n"
            "Lower `generation.max_tokens`, shorten the inputs, or use a model with a longer context.")
    return TeacherError(f"{label} refused the request (HTTP {status}): {snippet}\n"
                        "Check the generation parameters in the recipe; this is not retried.")
