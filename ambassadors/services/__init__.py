"""Writes on ambassadors, a module per operation (as pretix does)."""
