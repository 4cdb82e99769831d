"""How many CPUs this process may really use: the threads to give llama.cpp.

`os.cpu_count()` counts the host's cores. A container limited by a CPU quota (cgroup v2 `cpu.max`, what
`docker --cpus 2` and Kubernetes limits set) or by an affinity mask sees all of them, and llama.cpp given that
many threads on two real CPUs spends its time waiting for threads that are not running. The answer is the
smallest of the three: the host's cores, the affinity mask and the quota (rounded up).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def quota_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int | None:
    """The CPUs a cgroup v2 quota allows ("150000 100000" -> 2), or None when there is no quota."""
    try:
        quota, _, period = cpu_max.read_text().strip().partition(" ")
    except OSError:
        return None
    if quota == "max" or not quota.isdigit() or not period.strip().isdigit() or int(period) == 0:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def usable_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process can run on at once: host cores, affinity mask and cgroup quota, whichever is least."""
    counts = [os.cpu_count() or 1]
    if hasattr(os, "sched_getaffinity"):
        counts.append(len(os.sched_getaffinity(0)))
    quota = quota_cpus(cpu_max)
    if quota is not None:
        counts.append(quota)
    return max(1, min(counts))
