"""The reads of rewards, a module per subject:

* `points`: an ambassador's spendable points balance, lifetime points, their redemptions, the
  catalogue items they may redeem;
* `money`: an ambassador's money per status and currency (the "My earnings" page reuses it);
* `settings`: the organisation's reward settings as they are (defaults when none are stored).

Every function runs inside the organisation's tenant scope (a request under /o/<slug>/ is)."""
