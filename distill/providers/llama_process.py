"""llama.cpp in a worker process of its own, so that a native crash ends in a message instead of a dead run.

llama.cpp is native code: a build made for another CPU, a bad GGUF or a bug can end the process it runs in with
SIGSEGV or SIGILL, and the kernel's out-of-memory killer ends it with SIGKILL. Run inside `distill run` (or the
pytest process), that took everything down with no word. Here the model lives in `python -m
distill.providers.llama_process`, started on first use; the parent sends it one request at a time over a socket
pair and gets back plain data (what llama-cpp-python returns). When the worker dies, the request in flight raises
`NativeCrash`, which names the signal, the Python frame the worker was in (from `faulthandler`, written to a crash
file) and what to try; the runner adds where the answers are kept and how to resume.

The parent never imports llama_cpp, so the native library is never loaded into `distill run` itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from distill.errors import InputError, NativeCrash

PORTABLE_REINSTALL = ("CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install --force-reinstall --no-cache-dir --no-deps "
                      "llama-cpp-python")
# the portable build assumes AVX2, FMA, F16C and BMI2 (every x86-64 CPU since 2013-2015); a CPU without them (an
# older one, or a VM that hides them) needs the baseline build: about 5.6x slower (bench/embedded_build.py)
PORTABLE_BASELINE = {"AVX", "AVX2", "FMA", "F16C", "BMI2"}
BASELINE_REINSTALL = ("CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF "
                      "-DGGML_BMI2=OFF\" pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python")

_FRAME = re.compile(r'File "([^"\n]{1,500})", line \d+ in (\w{1,100})')
_CAUSE = {
    "SIGSEGV": "a crash inside llama.cpp's native code",
    "SIGILL": "an instruction this CPU does not have: llama.cpp was built for another CPU",
    "SIGBUS": "a crash inside llama.cpp's native code",
    "SIGABRT": "llama.cpp aborted",
    "SIGKILL": "it was killed from outside, most often by the kernel's out-of-memory killer",
}


class LlamaProcess:
    """One GGUF model served by a worker process; `call(op, ...)` blocks until the worker answers.

    Not thread-safe: the provider calls it from its single worker thread."""

    def __init__(self, path: Path, threads: int, context_tokens: int, label: str) -> None:
        self.path, self.threads, self.context_tokens, self.label = path, threads, context_tokens, label
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._conn: Connection | None = None
        self._crash_file: str | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        fd, self._crash_file = tempfile.mkstemp(prefix="distill-llama-", suffix=".crash")
        os.close(fd)
        args = [sys.executable, "-m", "distill.providers.llama_process", str(theirs.fileno()), str(self.path),
                str(self.threads), str(self.context_tokens), self._crash_file]
        self._proc = subprocess.Popen(args, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=worker_env())
        theirs.close()
        self._sock, self._conn = ours, Connection(os.dup(ours.fileno()))

    def call(self, op: str, *args: Any) -> Any:
        """What the worker's `op` returns; ValueError (llama.cpp's "prompt too long") comes back as ValueError."""
        if self._closed:
            raise RuntimeError(f"teacher {self.label}: the model was closed")
        if self._conn is None:
            self._start()
        assert self._conn is not None
        try:
            self._conn.send((op, args))
            status, value = self._conn.recv()
        except (EOFError, OSError):
            if self._closed:
                raise RuntimeError(f"teacher {self.label}: the model was closed") from None
            raise self._died() from None
        if status == "ok":
            return value
        if status == "value_error":
            raise ValueError(value)
        if status == "load_error":
            raise InputError(f"teacher {self.label}: llama.cpp could not load {self.path}: {value}")
        raise RuntimeError(f"the llama.cpp worker failed: {value}")

    def _died(self) -> NativeCrash:
        proc, self._conn, self._proc = self._proc, None, None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # the socket broke but the process lives on: end it
                proc.kill()
                code = proc.wait()
        how = _signal_name(code)
        where = crash_frame(self._crash_file)
        cause = _CAUSE.get(how, "a crash inside llama.cpp's native code")
        message = (f"the embedded teacher's worker process ({self.label}, llama.cpp) died of {how} ({cause})"
                   + (f", in {where}" if where else "")
                   + (f"; its Python stack is in {self._crash_file}" if where else "") + ".")
        if not where and self._crash_file:
            with contextlib.suppress(OSError):
                os.unlink(self._crash_file)
        advice = ("If it dies again, the llama-cpp-python build does not suit this CPU: reinstall it portably with "
                  f"`{PORTABLE_REINSTALL}`, or use another teacher (--teacher openai:MODEL@URL).")
        if how == "SIGKILL":
            advice = ("If it was the out-of-memory killer (see `dmesg`), free some memory or lower "
                      "max_concurrency; or use another teacher (--teacher openai:MODEL@URL).")
        return NativeCrash(message, advice)

    def close(self) -> None:
        """End the worker. Safe from another thread while a call is in flight: that call raises RuntimeError."""
        self._closed = True
        sock, proc = self._sock, self._proc
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv; the worker reads EOF and exits
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for closing in (self._conn, sock):
            if closing is not None:
                closing.close()
        if self._crash_file:
            with contextlib.suppress(OSError):
                os.unlink(self._crash_file)


def worker_env() -> dict[str, str]:
    """The worker's environment: ours, with OpenMP's threads sleeping instead of spinning while they wait.

    llama.cpp (built with OpenMP) meets its threads at a barrier after every operation, hundreds of times per
    token. By default a waiting thread spins; when the CPUs are shared (another run, a test in parallel, a
    container's quota) the thread it waits for is not running, and generation slowed from 108 to 2.5 tokens/s
    with two threads beside two busy processes (bench/embedded_contention.py), so a three-record run passed 300 s.
    PASSIVE costs little on an idle machine; a value the user set is kept."""
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def _signal_name(code: int | None) -> str:
    if code is None:
        return "an unknown cause"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def crash_frame(path: str | None) -> str | None:
    """The innermost Python frame in a faulthandler report, as `package/module.py function`."""
    if not path:
        return None
    try:
        text = Path(path).read_text(errors="replace")[:65536]
    except OSError:
        return None
    found = _FRAME.search(text)
    if found is None:
        return None
    file = Path(found.group(1))
    return f"{file.parent.name}/{file.name} {found.group(2)}"


# --- the worker side -------------------------------------------------------------------------------------------


# llama.cpp's name for an instruction set it was compiled with -> the flag /proc/cpuinfo shows when the CPU has it
_CPU_FLAG = {"SSE3": "pni", "SSSE3": "ssse3", "AVX": "avx", "AVX2": "avx2", "F16C": "f16c", "FMA": "fma",
             "BMI2": "bmi2", "AVX_VNNI": "avx_vnni", "AVX512": "avx512f", "AVX512_VBMI": "avx512vbmi",
             "AVX512_VNNI": "avx512_vnni", "AVX512_BF16": "avx512_bf16", "AMX_INT8": "amx_int8"}


def missing_instructions(system_info: str, cpuinfo: str) -> list[str]:
    """The instruction sets a llama.cpp build was compiled for (`llama_print_system_info()`, "AVX512 = 1 | ...")
    that this CPU lacks (the `flags` line of /proc/cpuinfo): a build made on another machine, or taken from pip's
    cache, that would die of SIGILL on its first instruction of them. Empty when cpuinfo says nothing."""
    flags_line = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    flags = set(flags_line.partition(":")[2].split())
    if not flags:
        return []
    built = re.findall(r"\b([A-Z0-9_]{2,20}) = 1\b", system_info)
    return [name for name in built if name in _CPU_FLAG and _CPU_FLAG[name] not in flags]


def wrong_cpu(system_info: str, cpuinfo: str) -> str | None:
    """Why this llama.cpp build cannot run on this CPU, with the reinstall command that fits; None if it can."""
    missing = missing_instructions(system_info, cpuinfo)
    if not missing:
        return None
    command = BASELINE_REINSTALL if PORTABLE_BASELINE & set(missing) else PORTABLE_REINSTALL
    return (f"this llama-cpp-python was built for a CPU with {', '.join(missing)}, which this one lacks (a build "
            f"made on another machine, or taken from pip's cache). Reinstall it for this CPU: {command}")


def _serve(conn: Connection, path: str, threads: int, context_tokens: int) -> None:
    try:
        from llama_cpp import Llama, llama_print_system_info

        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
        refused = wrong_cpu(llama_print_system_info().decode(errors="replace"), cpuinfo)
        if refused:
            _answer_every_request(conn, ("load_error", refused))
            return

        # decoding and prompt evaluation both get `threads`: llama-cpp-python otherwise evaluates prompts on every
        # core, and the OpenMP worker it leaves spinning took a fifth of a core from each Ray replica
        llm = Llama(model_path=path, n_ctx=context_tokens, n_threads=threads, n_threads_batch=threads,
                    verbose=False, seed=0)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a load error
        _answer_every_request(conn, ("load_error", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", _OPS[op](llm, *args))
        except ValueError as exc:
            reply = ("value_error", str(exc))
        except Exception as exc:  # noqa: BLE001 - any other failure goes back with its name
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except OSError:  # the parent is gone
            return


def _answer_every_request(conn: Connection, reply: tuple[str, str]) -> None:
    while True:
        try:
            conn.recv()
            conn.send(reply)
        except (EOFError, OSError):
            return


def _chat(llm: Any, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> Any:
    return llm.create_chat_completion(messages=messages, **kwargs)


def _raw(llm: Any, prompt: str, kwargs: dict[str, Any]) -> Any:
    return llm.create_completion(prompt, **kwargs)


def _render(llm: Any, messages: list[dict[str, Any]]) -> str | None:
    """The GGUF's own `tokenizer.chat_template`, rendered by llama-cpp-python's (sandboxed) formatter."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
    eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
    return str(Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)(messages=messages).prompt)  # type: ignore[arg-type]


def _threads(llm: Any) -> int:
    """How many threads this worker process runs (tests check a 1-CPU replica stays on one)."""
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else -1


_OPS: dict[str, Callable[..., Any]] = {"chat": _chat, "raw": _raw, "render": _render, "threads": _threads}


def main(argv: list[str]) -> None:
    fd, path, threads, context_tokens, crash_file = argv
    import faulthandler

    crash = open(crash_file, "w")  # noqa: SIM115 - open for the process's whole life, for faulthandler
    faulthandler.enable(crash)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle; it closes the socket
    _serve(Connection(int(fd)), path, int(threads), int(context_tokens))


if __name__ == "__main__":
    main(sys.argv[1:])
