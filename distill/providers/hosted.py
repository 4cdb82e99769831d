"""`Hosted`: the hosted API a provider's calls are billed through, as the provider class declares it.

A spec is priced from the bundled genai-prices table under `price_table` only while it talks to one of `hosts`
(no `base_url`, or a URL on one of them): the same provider pointed at a self-hosted server has no known price.
`batch_factor` is what that API's batch endpoint bills relative to its immediate price.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Hosted:
    price_table: str  # the provider id in genai-prices
    hosts: frozenset[str]  # the hosts that bill through it
    batch_factor: float = 1.0  # its batch API's price relative to the immediate one

    def serves(self, base_url: str | None) -> bool:
        """Whether a spec with this `base_url` talks to the hosted API (no URL: the provider's default)."""
        return base_url is None or (urlsplit(base_url).hostname or "") in self.hosts
