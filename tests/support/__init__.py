"""What tests share, so that no test module imports another.

* services.py: `need_service` (skip a test whose service is missing, fail it under
  REQUIRE_SERVICES=1), `redis_url()`, the Chromium the browser tests drive;
* subprocesses.py: the test database's URL for a process a test starts;
* workers.py: real Celery workers (`start_worker` fixture, `Worker`, `stop_process_group`);
* drills.py: the reliability drills' own Redis (`redis_server` fixture), polling, and the
  counts and rollup recount they check;
* scenario.py: one builder for a whole programme (clicks → processing → leads → sales →
  attribution); programmes.py: programmes worked by hand that several modules check;
* tracking.py: clicks, leads and sales one at a time, and the tracking API's client;
* responses.py: a response's text and its CSV rows.
* smtp.py: a real SMTP server on loopback (`smtp_server` fixture) and what arrived at it.
* http_receiver.py: a loopback HTTP server standing in for Slack / Teams webhooks
  (`http_receiver` fixture): what it received, and scripted answers (429 + Retry-After, 4xx, 5xx).
* storage.py: a local-disk storage that is full after one file (FullDiskStorage), to show an
  upload failing half-way leaves nothing behind.
* browser.py: for browser tests, a watch that fails on any Content-Security-Policy violation
  (CspWatch), outside sites stood in for at the network layer (route_to_stubs; external_sites, an
  HTTPS stub Chromium resolves their hosts to, for redirects), mailto: navigations seen through
  Chromium's DevTools (requested_navigations).
* concurrency.py: `at_once(call, n)`, the same call from n threads released together.

The fixtures of workers.py, drills.py, smtp.py and http_receiver.py are plugins of tests/conftest.py (`pytest_plugins`).
Factories are in tests/factories.py.
"""
