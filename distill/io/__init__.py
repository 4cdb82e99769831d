"""Reading user files: recipe inputs and seed data."""
