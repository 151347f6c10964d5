"""Tracking's HTML and plain HTTP answers: the short link's redirect (redirect.py), the browser
snippet (snippet.py), and the manage pages of CSV imports (imports.py) and attribution settings
(settings.py). Thin: parse, call tracking.services, render. Routes: tracking/urls.py."""
