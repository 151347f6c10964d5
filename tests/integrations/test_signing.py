"""Our Standard Webhooks signatures agree with the reference library's (standardwebhooks)."""

import base64
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from standardwebhooks.webhooks import Webhook

from integrations.signing import new_secret, sign, signature_header

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_new_secret_is_whsec_and_24_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    assert new_secret() != secret


def test_our_signature_is_the_reference_librarys():
    secret = new_secret()
    body = '{"type":"sale.created","timestamp":"2026-12-06T12:00:00Z","data":{"amount":"9.90 €"}}'
    expected = Webhook(secret).sign("msg_abc", NOW, body)
    assert sign(secret, "msg_abc", int(NOW.timestamp()), body.encode()) == expected


def test_both_secrets_sign_until_the_overlap_ends():
    endpoint = SimpleNamespace(secret=new_secret(), previous_secret=new_secret(),
                               previous_secret_expires_at=NOW + timedelta(hours=24))
    both = signature_header(endpoint, "msg_1", 1, b"{}", NOW)
    assert both.split(" ") == [sign(endpoint.secret, "msg_1", 1, b"{}"), sign(endpoint.previous_secret, "msg_1", 1,
                                                                              b"{}")]
    assert signature_header(endpoint, "msg_1", 1, b"{}", NOW + timedelta(hours=24)) == sign(endpoint.secret, "msg_1",
                                                                                           1, b"{}")
