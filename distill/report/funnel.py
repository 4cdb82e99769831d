"""The funnel: how many items entered each stage, how many it kept, and why it rejected the rest."""

from __future__ import annotations

from typing import Any


def funnel(manifest: dict[str, Any]) -> dict[str, Any]:
    """Stages in the order the run recorded them; `in` is what reached the stage (kept + rejected + failed)."""
    stages = []
    for name, c in (manifest.get("stages") or {}).items():
        rejected = sum(int(v) for v in (c.get("rejected") or {}).values())
        accepted, failed = int(c.get("accepted", 0)), int(c.get("failed", 0))
        stages.append({"stage": name, "in": accepted + rejected + failed, "accepted": accepted,
                       "rejected": rejected, "failed": failed,
                       "reasons": dict(sorted((c.get("rejected") or {}).items(), key=lambda kv: -kv[1]))})
    counts = manifest.get("counts") or {}
    return {"inputs": stages[0]["in"] if stages else int(counts.get("accepted", 0)),
            "stages": stages, "accepted": int(counts.get("accepted", 0)),
            "rejected": int(counts.get("rejected", 0)), "failed": int(counts.get("failed", 0))}
