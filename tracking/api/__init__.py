"""Tracking's REST API: the tracking endpoints of an organisation's API key (track.py), CSV
imports (imports.py), attribution settings (settings.py); their serializers in serializers.py.
Thin: parse, call tracking.services, render. Routes: tracking/api_urls.py."""
