"""A 50 MB upload is refused from its declared size, before its body is read: the site's
middleware does not parse a multipart body larger than MULTIPART_SCAN_MAX_BYTES (nor does the image
view), so a hostile upload costs the server neither the transfer nor a temporary file."""

import socket
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from tenancy.models import Role
from tests.factories import CampaignFactory, member

pytestmark = pytest.mark.django_db(transaction=True)

FIFTY_MB = 50 * 1024 * 1024


def test_a_50_mb_image_is_refused_before_its_body_is_sent(org, live_server):
    admin = member(org, Role.ADMIN)
    campaign = CampaignFactory(organization=org)
    client = Client()
    client.force_login(admin)
    session = client.cookies["sessionid"].value
    path = reverse("campaign_image_add", args=[org.slug, campaign.public_id])
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: sessionid={session}\r\n"
            f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {FIFTY_MB}\r\n"
            "Connection: close\r\n\r\n"
            "--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"huge.png\"\r\n"
            "Content-Type: image/png\r\n\r\n")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head.encode())  # and not one byte of the 50 MB: a server reading it would wait
        answer = b""
        while b"</html>" not in answer.lower():  # the socket stays open: the answer must come unasked
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, status_line
    assert "This file is 50 MB; images can be at most 5 MB." in rest.decode()
