"""The one redirect rule for every HTTP client here (own HTTP/1.1, aiohttp, the batch clients): no redirect is
followed. Every request carries the API key (`Authorization` or `x-api-key`) and most carry prompts, so following a
redirect to another origin would hand both to a host the user never named, and take its answers as the teacher's;
neither OpenAI's nor Anthropic's API documents a redirect on the endpoints distill calls. A 3xx answer stops the
run with a message naming where it pointed (credentials in the URL masked), so the user can set `base_url` to it.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from distill.errors import TeacherError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of `url`, the default port filled in."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def redirect_refused(status: int, location: str | None, *, label: str, url: str) -> TeacherError:
    """The error for a redirect answer to a request to `url`: it is not followed."""
    from distill.redact import clean_text, redact_url

    target = urljoin(url, location) if location else ""
    where = f" to {clean_text(redact_url(target), 200)}" if target else ""
    if target and origin(target) != origin(url):
        where += " (another host or port)"
    return TeacherError(f"{label}: {clean_text(redact_url(url), 200)} answered HTTP {status}, a redirect{where}. "
                        "distill follows no redirect: the API key and the prompts would go with it. "
                        "If that address is the API, set base_url to it.")
