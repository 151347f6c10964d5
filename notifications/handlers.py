"""The outbox topics this app handles (registered when the app is ready)."""
