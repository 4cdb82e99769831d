"""The two kinds of failure a user can see, and the exit code each one maps to.

* `InputError` (exit 2): the user's config, files or command line are wrong. The message names the file,
  line or key and says what to do.
* `TeacherError` (exit 1): the teacher (or judge) refused the work in a way retrying cannot fix —
  wrong key, unknown model, a prompt too long for its context.
* `DiskFull` (exit 3): the run folder's disk ran out of space; answers received are kept, re-run to resume.

Both are raised before anything is half-written; the CLI prints the message alone, no traceback.
"""

from __future__ import annotations


class DistillError(Exception):
    exit_code = 1


class InputError(DistillError):
    exit_code = 2


class TeacherError(DistillError):
    exit_code = 1


class DiskFull(DistillError):
    """The run folder's disk filled up (or nearly): the run stopped cleanly, keeping every received answer."""

    exit_code = 3


class RetryableError(Exception):
    """A teacher call failed in a way that a later attempt may fix (429, 5xx, timeout, dropped connection,
    a 200 whose body is not a chat completion). Never shown to the user unless retries run out."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class TimedOut(RetryableError):
    """No answer within the endpoint's `timeout`: retried like the others, and a sign the endpoint is sent more
    calls at once than it answers in time (engine/concurrency.py lowers that number)."""


class NativeCrash(TeacherError):
    """An in-process model's native code died (SIGSEGV, SIGILL, the OOM killer's SIGKILL) in its worker process.

    Like Ctrl+C, it keeps the run folder resumable; the runner adds where the answers are kept (`in_folder`)."""

    def __init__(self, message: str, advice: str = "") -> None:
        super().__init__(message, advice)
        self.message, self.advice = message, advice

    def __str__(self) -> str:
        return f"{self.message} {self.advice}".strip()

    def in_folder(self, folder: object) -> NativeCrash:
        return NativeCrash(f"{self.message} The run stopped: every answer received so far is kept in "
                           f"{folder}/cache.sqlite and the records written so far in {folder}/*.jsonl.partial; run "
                           "the same command again to resume (answers already received are not requested again).",
                           self.advice)
