"""A llama.cpp build made for another CPU is refused with the portable reinstall command, before it can crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import distill, write

from distill.providers.llama_process import missing_instructions, wrong_cpu

CPUINFO = "processor : 0\nflags : fpu sse sse2 pni ssse3 avx avx2 fma f16c bmi2 avx512f\n"


def test_instruction_sets_the_build_has_and_the_cpu_lacks_are_named():
    info = ("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
            "OPENMP = 1")
    assert missing_instructions(info, CPUINFO) == ["AVX512_BF16", "AMX_INT8"]
    portable = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1"
    assert missing_instructions(portable, CPUINFO) == []
    assert missing_instructions(info, "no flags here") == []  # nothing known about the CPU: nothing refused


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="reads the CPU's flags from /proc/cpuinfo")
def test_a_build_for_another_cpu_stops_the_run_with_the_reinstall_command(tmp_path):
    flags = Path("/proc/cpuinfo").read_text()
    lacking = next(name for name, flag in [("AMX_INT8", "amx_int8"), ("AVX512_BF16", "avx512_bf16"),
                                          ("AVX512", "avx512f")] if f" {flag}" not in flags)
    fake = tmp_path / "site" / "llama_cpp"  # a stand-in llama-cpp-python reporting the build's instruction sets
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        f"def llama_print_system_info():\n    return b'CPU : SSE3 = 1 | AVX2 = 1 | {lacking} = 1 | OPENMP = 1'\n\n"
        "class Llama:\n    def __init__(self, **kwargs):\n        raise AssertionError('must not be loaded')\n")
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Say hi."}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\ninput: {{path: {inp}}}\nout: {tmp_path / 'run'}\n"
                                     "teacher: local\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}
    res = distill("run", str(cfg), "--no-progress", env=env)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"built for a CPU with {lacking}" in res.stderr and "GGML_NATIVE=OFF" in res.stderr, res.stderr



def test_a_cpu_without_avx2_is_told_the_baseline_build_and_others_the_portable_one():
    """The portable build assumes AVX2; a CPU (or a VM hiding it) without it gets the build with every extension
    off. A CPU that has the baseline but lacks AVX512 (a native build from another machine) gets the portable one."""
    portable = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1"
    old_cpu = "flags : fpu sse sse2 pni ssse3 sse4_1 sse4_2\n"
    told = wrong_cpu(portable, old_cpu)
    assert told is not None and "AVX2" in told and "-DGGML_AVX2=OFF" in told
    told = wrong_cpu(portable + " | AVX512 = 1", CPUINFO.replace(" avx512f", ""))
    assert told is not None and "AVX512" in told and "-DGGML_AVX2=OFF" not in told and "GGML_NATIVE=OFF" in told
    assert wrong_cpu(portable, CPUINFO) is None
