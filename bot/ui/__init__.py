"""Block Kit builders: pure functions from domain objects to views and blocks, no I/O."""
