"""The reports' pages and CSV exports (thin: read the query through reports.forms, call the
selectors, render): the dashboard and digest subscriptions (digest.py), the leaderboard and
points rules (leaderboard.py), campaign ROI, the funnel and the model comparison (roi.py).
Wired in reports/urls.py."""
