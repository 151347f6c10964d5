"""Integrations' writes: endpoints (the admins' operations), fanout (domain events → deliveries)
and delivery (the engine that sends, retries, pauses and disables)."""
