"""Order keys: where each record sorts in the final files. They compare like the tuple (stage, *item, *sub)
whatever the sizes, so no input is large enough to make two positions collide or cross."""

from __future__ import annotations

import random

import orjson
import pytest

from distill.run.folder import order_key


def test_keys_sort_like_their_tuples_at_any_size():
    rng = random.Random(0)
    sizes = [0, 1, 9, 15, 16, 255, 256, 999, 1000, 2**20 - 1, 2**20, 2**36, 2**63, 2**70]
    parts = [(rng.choice([0, 1, 2]), (rng.choice(sizes), rng.choice(sizes)), rng.choice(sizes))
             for _ in range(3000)]
    keys = {p: order_key(p[1], p[2], p[0]) for p in parts}
    assert len(set(keys.values())) == len(set(parts))  # distinct positions, distinct keys
    assert sorted(set(parts), key=keys.__getitem__) == sorted(set(parts), key=lambda p: (p[0], *p[1], p[2]))


def test_large_sub_index_does_not_spill_into_the_next_item():
    # fixed bit widths made item 0's sub-item 2**20 the same key as item 1's first row
    assert order_key(0, 2**20) < order_key(1, 0)
    assert order_key(5, 2**40) < order_key(6) < order_key(6, 1) < order_key(0, 0, stage=1)


def test_structured_parts_never_collide():
    # what `leaf * 1000 + 500 + chunk` could not promise: chunk 500 of leaf 0 is not leaf 1's first key
    knowledge = [order_key((0, 1, k), (0, 1, 0)) for k in range(2000)]
    skills = [order_key((1, 0, s), 1) for s in range(10)]
    assert not set(knowledge) & set(skills)
    assert max(knowledge) < min(skills)


def test_keys_survive_the_item_log():
    # item logs are JSON: a key must come back from orjson as the same, equally sortable value
    key = order_key((3, 1, 70000), (2, 5, 1), stage=1)
    assert orjson.loads(orjson.dumps([key])) == [key]


def test_negative_parts_are_refused():
    with pytest.raises(ValueError):
        order_key(-1)
