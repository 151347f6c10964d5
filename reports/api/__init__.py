"""The reports' API (thin: the same query parameters, selectors and rounding as the pages and
CSV exports): digest subscriptions (digest.py), the leaderboard, fair view and points rules
(leaderboard.py), campaign ROI, the funnel and the model comparison (roi.py). Wired in
reports/api_urls.py."""
