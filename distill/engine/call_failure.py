"""How a call ends when it gives no answer: `CallFailed` (retries ran out) and `PromptRejected` (refused for good).

The Teacher raises them for immediate calls and the batch dispatcher for batched ones; the run records the item
as failed (asked again by the next run) or rejected (never asked again).
"""

from __future__ import annotations


class CallFailed(Exception):
    """A teacher call whose retries ran out. The item it belongs to is recorded as failed, not lost."""

    def __init__(self, role: str, error: BaseException, attempts: int) -> None:
        super().__init__(f"{role} call failed after {attempts} attempt(s): {error}")
        self.role = role
        self.error = error
        self.attempts = attempts


class PromptRejected(CallFailed):
    """The endpoint refused the prompt as too long for the model's context (`reason` "context_length", kept so
    later runs reject it without asking), or answered with a reply past `max_reply_bytes` ("reply_too_large"):
    the item is rejected with that reason and the run goes on; nothing is retried."""

    def __init__(self, role: str, error: BaseException, reason: str = "context_length") -> None:
        super().__init__(role, error, 1)
        self.reason = reason


REJECTING = frozenset({"context_length", "reply_too_large"})  # `Refused` fields that reject the item
