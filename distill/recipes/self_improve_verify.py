"""The verifiers' old home: they live in `distill/eval/verifiers.py` (shared by `distill eval`, self_improve and
the reasoning recipe), the interval in `distill/eval/stats.py`. These names stay importable from here."""

from distill.eval.stats import wilson
from distill.eval.verifiers import Verifier, VerifierOptions, math_answer

__all__ = ["Verifier", "VerifierOptions", "math_answer", "wilson"]
