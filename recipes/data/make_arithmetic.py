"""Multi-step arithmetic word problems with their answers, deterministic by seed, for recipes/self_improve.yaml.

    python recipes/data/make_arithmetic.py                  # writes arithmetic_train.jsonl, arithmetic_heldout.jsonl
    python recipes/data/make_arithmetic.py --train 500 --heldout 200 --seed 3 --out /tmp/arith

Each row: {"id", "question", "answer", "steps"}; answers are whole numbers. Numbers are kept small (a
135M-parameter student gets a few right, so that verified sampling has something to learn from). The held-out
split comes from the same generator with a different stream and shares no question with the train split.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

Problem = tuple[str, int, int]  # question, answer, steps
NAMES = ["Sam", "Mia", "Ravi", "Lena", "Omar", "Yuki", "Ana", "Ben", "Zoe", "Ivan", "Nia", "Leo"]
THINGS = ["apples", "stickers", "marbles", "books", "pencils", "cards", "shells", "coins", "cookies", "stamps"]


def _draw(r: random.Random, *bounds: tuple[int, int], thing: bool = True) -> tuple[str, str, list[int]]:
    """A name, a kind of thing (unless `thing` is false) and a whole number within each (low, high), drawn in
    that order (the order fixes the problems a seed gives)."""
    name = r.choice(NAMES)
    kind = r.choice(THINGS) if thing else ""
    return name, kind, [r.randint(low, high) for low, high in bounds]


def _gain_loss(r: random.Random) -> Problem:
    n, t, (a, b) = _draw(r, (2, 9), (1, 9))
    c = r.randint(1, a + b - 1)
    return (f"{n} has {a} {t}. {n} gets {b} more {t} and then gives away {c}. How many {t} does {n} have now?",
            a + b - c, 2)


def _groups(r: random.Random) -> Problem:
    n, t, (each, boxes, extra) = _draw(r, (2, 5), (2, 4), (1, 9))
    return (f"{n} buys {boxes} boxes of {t} with {each} {t} in each box, and already had {extra} {t}. "
            f"How many {t} does {n} have in total?", boxes * each + extra, 2)


def _daily(r: random.Random) -> Problem:
    n, _, (per, days, left) = _draw(r, (2, 5), (2, 4), (1, 9), thing=False)
    return (f"A book has {per * days + left} pages. {n} reads {per} pages every day for {days} days. How many "
            f"pages are left to read?", left, 2)


def _share(r: random.Random) -> Problem:
    n, t, (friends, each, kept) = _draw(r, (2, 3), (2, 5), (1, 9))
    return (f"{n} had some {t}, kept {kept} and shared the rest equally among {friends} friends, who got {each} "
            f"each. How many {t} did {n} have at first?", kept + friends * each, 2)


def _shop(r: random.Random) -> Problem:
    n, _, (price, count, paid_extra) = _draw(r, (2, 5), (2, 4), (1, 9), thing=False)
    return (f"{n} buys {count} notebooks that cost {price} dollars each and pays with "
            f"{price * count + paid_extra} dollars. How much change does {n} get?", paid_extra, 2)


def _three_step(r: random.Random) -> Problem:
    n, t, (a, b, c) = _draw(r, (5, 9), (2, 3), (1, 4))
    return (f"{n} has {a} {t}. {n} finds {b} bags with {c} {t} in each bag, then loses {c} {t}. How many "
            f"{t} does {n} have now?", a + b * c - c, 3)


KINDS: list[Callable[[random.Random], Problem]] = [_gain_loss, _groups, _daily, _share, _shop, _three_step]


def problems(count: int, seed: int, avoid: set[str] | None = None) -> list[dict[str, object]]:
    r, out, seen = random.Random(seed), [], set(avoid or ())
    while len(out) < count:
        question, answer, steps = r.choice(KINDS)(r)
        if question in seen:
            continue
        seen.add(question)
        out.append({"id": f"arith-{seed}-{len(out)}", "question": question, "answer": str(answer), "steps": steps})
    return out


def write(rows: list[dict[str, object]], path: Path) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", type=int, default=64)
    ap.add_argument("--heldout", type=int, default=100)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    train = problems(args.train, args.seed)
    held = problems(args.heldout, args.seed + 1, avoid={str(p["question"]) for p in train})
    write(train, args.out / "arithmetic_train.jsonl")
    write(held, args.out / "arithmetic_heldout.jsonl")
    print(f"wrote {len(train)} train and {len(held)} held-out problems to {args.out}")


if __name__ == "__main__":
    main()
