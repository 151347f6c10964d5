"""Report selectors: reads over rollups (DailyClickRollup, DailyCreditRollup), shares and the
cost ledger, shared by the pages, the API, the CSV exports and the e-mail digests. Nothing
here scans raw clicks. Call inside the organisation's tenant scope."""
