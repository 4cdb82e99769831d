"""The quality gate every recipe ends in: LLM judges (rubric and pairwise), reward models, and selection."""
