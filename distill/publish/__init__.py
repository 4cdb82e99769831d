"""The last mile: export formats, the dataset card, and pushing a run to the Hugging Face Hub."""
