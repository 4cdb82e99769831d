"""The URLs a batch backend requests: its base URL apart from the credentials it may carry, and paths holding
ids the provider sent.

    base, basic = split_credentials("https://user:pw@gateway/v1")  # "https://gateway/v1", "Basic dXNlcjpwdw=="
    url = base + "/files/" + segment(file_id, "file id") + "/content"

Guarantees: the base URL given to the HTTP client never holds a user or password (they are in no message, and
the client is never handed both the URL's credentials and an Authorization header: aiohttp refuses that with a
ValueError); an id the provider sent is always exactly one path segment of the URL (`../../x?` is requested as
`..%2F..%2Fx%3F`, never as another path of the host, which would be sent the API key), and an id that cannot
be one (empty, `.`, `..`, not a string) is never requested: RetryableError, as for an answer that may be better
next time.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from distill.errors import RetryableError


def split_credentials(url: str) -> tuple[str, str | None]:
    """(`url` without its user and password, the `Authorization` value of HTTP basic auth they make, or None)."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return urlunsplit(parts._replace(netloc=host)), f"Basic {token}"


def segment(value: object, what: str) -> str:
    """`value`, an id the provider sent, escaped as one path segment; RetryableError when it cannot be one."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise RetryableError(f"the provider named a {what} {value!r}, which is not an id: not requesting it")
    return quote(value, safe="")
