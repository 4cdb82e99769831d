"""Whether a URL goes through a proxy: the HTTP/1.1 client speaks to the server directly, so the OpenAI and
Anthropic providers open an aiohttp client (which honours HTTP(S)_PROXY) for such a URL instead."""

from __future__ import annotations


def uses_proxy(url: str) -> bool:
    """Whether an HTTP(S)_PROXY environment variable applies to `url` (and NO_PROXY does not exempt it)."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(url)
    return parts.scheme in getproxies() and not proxy_bypass(parts.hostname or "")
