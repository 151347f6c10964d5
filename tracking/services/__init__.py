"""Writes on clicks, a module per operation (as pretix does)."""
