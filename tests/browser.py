"""Opening a page in real headless Chromium (Debian's `chromium`, installed by .ci/run): a screenshot and the DOM
after load. Offline: no network features, a throwaway profile."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("headless Chromium is needed for this test: apt-get install -y chromium (.ci/run does)")


def open_page(page: Path, tmp: Path, width: int = 1200, height: int = 4000) -> tuple[object, str]:
    """(the screenshot as a PIL image, the DOM after load)."""
    from PIL import Image

    profile = tmp / "chromium-profile"
    shot = tmp / f"{page.stem}.png"
    base = [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
    url = page.resolve().as_uri()
    res = subprocess.run([*base, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120, check=False)
    assert shot.exists(), res.stderr[-2000:]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return Image.open(shot).convert("RGB"), dom.stdout


def pixels_near(image: object, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many screenshot pixels are within `tolerance` (per channel) of a colour."""
    import numpy as np

    a = np.asarray(image).astype(int)
    return int((np.abs(a - np.array(rgb)).max(axis=2) <= tolerance).sum())
