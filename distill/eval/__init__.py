"""Measuring models on held-out questions: `distill eval`, `distill compare --train` and self_improve's
iterations. A verifier's pass rate (verifiers.py, pass_rate.py), a judge's win rate against a baseline in both
orders (win_rate.py), IFEval-style format constraints checked by functions (ifeval.py, instructions.py); every
figure with its Wilson 95% interval, and paired tests between two models (stats.py). Answers come through the
Teacher, so they are cached and an evaluation run again makes no call."""
