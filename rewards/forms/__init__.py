"""The rewards pages' forms, a module per area (points, settings, …)."""
