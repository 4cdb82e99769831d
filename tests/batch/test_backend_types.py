"""The batch protocol's small pieces: splitting request lines at a provider's limits, refusing what cannot fit."""

from __future__ import annotations

import pytest

from distill.batch.backend import BatchLimits, backend_for, split
from distill.errors import InputError
from distill.providers.registry import has_backend
from distill.providers.spec import ProviderSpec


def lines(n: int, size: int) -> list[tuple[str, bytes]]:
    return [(f"id{i}", b"x" * size) for i in range(n)]


def test_split_by_request_count_keeps_order():
    groups = split(lines(7, 10), BatchLimits(max_requests=3, max_bytes=10_000))
    assert [len(g) for g in groups] == [3, 3, 1]
    assert [cid for g in groups for cid, _ in g] == [f"id{i}" for i in range(7)]


def test_split_by_bytes_counts_the_newline():
    # each line costs 10 + 1 bytes: 3 fit in 33, a 4th would not
    groups = split(lines(7, 10), BatchLimits(max_requests=100, max_bytes=33))
    assert [len(g) for g in groups] == [3, 3, 1]
    assert all(sum(len(line) + 1 for _, line in g) <= 33 for g in groups)


def test_split_of_nothing_is_no_batch():
    assert split([], BatchLimits(10, 100)) == []


def test_a_line_too_big_for_any_batch_is_named():
    with pytest.raises(ValueError, match="id1"):
        split([("id0", b"x"), ("id1", b"y" * 200)], BatchLimits(10, 100))


def test_a_provider_without_a_batch_api_is_refused_by_name():
    assert has_backend("openai") and not has_backend("local")
    with pytest.raises(InputError, match="'local' has no batch API"):
        backend_for(ProviderSpec(provider="local"))
