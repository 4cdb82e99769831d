"""Text algorithms shared by recipes: ROUGE-L novelty, deduplication, decontamination."""
