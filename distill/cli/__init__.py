"""The `distill` command line: one module per command group, each importing heavy code only when it runs."""
