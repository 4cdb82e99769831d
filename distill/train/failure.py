"""A training run that broke (TRL or torch raised, no example fit, the student could not be trained): exit 1
with one paragraph, never a traceback, and no checkpoint left that looks finished.

It is a `RecipeError`, so inside `distill run` (self_improve) the run stops as after Ctrl+C: every answer
received stays in the cache, the records written so far stay in the partial files, and the same command
resumes. `distill train` prints the message and exits 1."""

from __future__ import annotations

from distill.run.recipe_errors import RecipeError, describe


class TrainingFailed(RecipeError):
    """Training raised, or could not start on the data it was given."""


def training_failed(method: str, source: str, exc: BaseException) -> TrainingFailed:
    return TrainingFailed(f"training ({method}) from {source} failed: {describe(exc)}. No checkpoint was saved.")
