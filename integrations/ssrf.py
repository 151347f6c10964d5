"""The SSRF guard of outbound webhooks: an organisation's URL must never make the platform talk
to itself, its private network or a cloud metadata service.

Checked on the address actually connected to, not on the URL's text: the host is resolved, every
address it resolves to must be public (`forbidden_reason`), and the request then goes to one of
those vetted addresses (`post`: urllib3 connects to the IP itself, and sends the URL's host in
the Host header and as the TLS server name, whose certificate is verified). A second resolution
at connect time, which a DNS-rebinding attacker could answer with 127.0.0.1, never happens.
Redirects are not followed (a 3xx is an answer like any other, and a failure).

WEBHOOK_ALLOWED_HOSTS names hosts exempt from all this (tests, a self-hosted receiver on the
private network): they may use http and resolve to any address. Everyone else needs https.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

USER_AGENT = "Ambassadors-Webhooks/1.0 (Standard Webhooks)"
MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of an answer (4 KB of it is logged)

# Ranges Python's flags miss or that we name for clarity (ipaddress's is_global/is_private cover
# the rest: RFC 1918, loopback, link-local, documentation, benchmarking, reserved …).
FORBIDDEN_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8",           # "this network" (0.0.0.0 reaches the local host on Linux)
    "100.64.0.0/10",       # carrier-grade NAT (RFC 6598)
    "169.254.0.0/16",      # link-local, where 169.254.169.254 (cloud metadata) lives
    "192.0.0.0/24",        # IETF protocol assignments
    "198.18.0.0/15",       # benchmarking
    "224.0.0.0/4",         # multicast
    "240.0.0.0/4",         # reserved, and 255.255.255.255
    "::/128", "::1/128",   # unspecified, loopback
    "::/96",               # IPv4-compatible (deprecated): ::127.0.0.1
    "100::/64",            # discard-only
    "2001::/32",           # Teredo (tunnels to an embedded IPv4 address)
    "2001:db8::/32",       # documentation
    "fc00::/7",            # unique local (ULA), where fd00:ec2::254 (AWS metadata) lives
    "fe80::/10",           # link-local
    "fec0::/10",           # site-local (deprecated)
    "ff00::/8",            # multicast
))
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(ip) for ip in ("169.254.169.254", "fd00:ec2::254",
                                                                   "100.100.100.200"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """A URL webhooks may not be sent to; the message is for the admin who entered it."""


@dataclass(frozen=True)
class Target:
    """Where a URL leads, vetted: the addresses to connect to (in the resolver's order)."""

    scheme: str
    host: str  # the URL's host name (Host header, TLS server name)
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass
class HttpResult:
    """What a POST got: an answer (status, headers, the first bytes of its body) or an error."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""
    duration_ms: int = 0


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped ::ffff:a.b.c.d, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: str) -> str | None:
    """Why webhooks may not go to this address, or None if it is a public one."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is link-local anyway
    except ValueError:
        return "it is not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = forbidden_reason(str(embedded))
            return f"it carries {embedded}, and {reason}" if reason else None
    if address in METADATA_ADDRESSES:
        return "it is a cloud metadata address"
    if address.is_loopback:
        return "it is a loopback address (this machine)"
    if address.is_link_local:
        return "it is a link-local address"
    if address.is_multicast:
        return "it is a multicast address"
    if address.is_unspecified:
        return "it is an unspecified address"
    if any(address in network for network in FORBIDDEN_NETWORKS if network.version == address.version):
        return "it is a reserved or internal address"
    if address.is_private or address.is_reserved or not address.is_global:
        return "it is a private address"
    return None


def allowed_host(host: str) -> bool:
    allowed = {name.strip().lower().rstrip(".") for name in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", ()) if name}
    return host.lower().rstrip(".") in allowed


def _parse(url: str) -> tuple[str, str, int, str]:
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURL("A webhook URL can't contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("This is not a valid URL.") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise UnsafeURL("Enter a full https:// URL, like https://example.com/webhooks.")
    if parts.username or parts.password:
        raise UnsafeURL("A webhook URL can't contain a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """The vetted target of `url`; UnsafeURL if it must not be called."""
    scheme, host, port, path = _parse(url)
    exempt = allowed_host(host)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeURL(f"The host “{host}” could not be resolved.") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeURL(f"The host “{host}” could not be resolved.")
    if not exempt:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason:
                shown = host if host == address else f"{host} ({address})"
                raise UnsafeURL(f"Webhooks can't be sent to {shown}: {reason}.")
    if scheme != "https" and not exempt:
        raise UnsafeURL("Webhook URLs must start with https://, so events and signatures travel encrypted.")
    return Target(scheme, host, port, path, addresses)


def check_url(url: str) -> None:
    """Raise UnsafeURL unless `url` may receive webhooks now: https (http only for an allowed
    host), no credentials in it, and a host resolving only to public addresses (any address for
    a host in WEBHOOK_ALLOWED_HOSTS). Delivery checks again at every attempt."""
    resolve(url)


# --- The guarded client ------------------------------------------------------------------------

_pools = urllib3.PoolManager(num_pools=200, maxsize=8, block=False, retries=False)


def _ca_certs() -> str | None:
    try:
        import certifi
    except ImportError:  # the system's store
        return None
    return certifi.where()


def _pool(target: Target, address: str):
    """A keep-alive pool to the vetted address, presenting the URL's host name for TLS."""
    kwargs = {}
    if target.scheme == "https":
        kwargs = {"server_hostname": target.host, "assert_hostname": target.host, "cert_reqs": "CERT_REQUIRED",
                  "ca_certs": _ca_certs()}
    return _pools.connection_from_host(address, target.port, target.scheme, pool_kwargs=kwargs)


def _read(response, deadline: float) -> bytes:
    """At most MAX_RESPONSE_BYTES of the body, before the deadline; the rest is not read (the
    connection is then closed rather than reused)."""
    chunks, size = [], 0
    while size < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        chunk = response.read(min(16 * 1024, MAX_RESPONSE_BYTES - size), decode_content=True)
        if not chunk:
            response.release_conn()
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    response.close()  # too long or too slow: the connection goes, not the rest of the body
    return b"".join(chunks)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> HttpResult:
    """POST `body` to `url` through the guard, within `timeout` seconds in all; never raises for
    the network's sake (the error is in the result), never follows a redirect. Error texts are
    our own sentences: an exception's text may carry the URL, which may carry a token."""
    started = time.monotonic()
    deadline = started + timeout

    def done(**values) -> HttpResult:
        return HttpResult(duration_ms=int((time.monotonic() - started) * 1000), **values)

    try:
        target = resolve(url)
    except UnsafeURL as error:
        return done(error=f"Refused: {error}")
    request_headers = {"Host": target.host_header, "User-Agent": USER_AGENT, **headers}
    last_error = "Could not connect."
    for address in target.addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            return done(error=f"Timed out after {timeout:g} s.")
        try:
            response = _pool(target, address).urlopen(
                "POST", target.path, body=body, headers=request_headers, redirect=False, retries=False,
                assert_same_host=False, preload_content=False, timeout=urllib3.Timeout(connect=min(left, 10.0),
                                                                                       read=left))
        except urllib3.exceptions.NewConnectionError:
            last_error = "Could not connect (connection refused or unreachable)."
            continue  # the next vetted address (a host with IPv6 and IPv4, one of them closed)
        except urllib3.exceptions.ConnectTimeoutError:
            last_error = "Timed out while connecting."
            continue
        except urllib3.exceptions.SSLError:
            return done(error="TLS failed (the certificate is not valid for this host, or the handshake failed).")
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            return done(error=f"Timed out after {timeout:g} s waiting for the answer.")
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return done(error=f"The connection failed ({type(error).__name__}).")
        try:
            content = _read(response, deadline)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            response.close()
            return done(status=response.status, headers=dict(response.headers.items()),
                        error=f"The answer was cut off ({type(error).__name__}).")
        return done(status=response.status, headers=dict(response.headers.items()), body=content)
    return done(error=last_error)
