"""One progress bar per run on stderr, with rate, ETA and accepted/rejected/failed counts. Silent off a TTY."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    def __init__(self, total: int | None, desc: str, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.counts = {"accepted": 0, "rejected": 0, "failed": 0}
        self._bar: Any = None
        self._last = 0.0
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="item", dynamic_ncols=True, mininterval=0.25,
                             file=sys.stderr)

    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n

    def advance(self, n: int = 1) -> None:
        if self._bar is None:
            return
        self._bar.update(n)
        now = time.monotonic()
        if now - self._last > 0.5:
            self._last = now
            self._bar.set_postfix(self.counts, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.set_postfix(self.counts, refresh=False)
            self._bar.close()
