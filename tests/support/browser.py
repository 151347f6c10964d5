"""What browser tests share: catching Content-Security-Policy violations, standing in for outside web sites
(only at the network layer, never for the site's own answers) and seeing the navigations the browser does
not make over the network (mailto:).

* `CspWatch(context)`: from then on, every page and pop-up of the context reports its console messages,
  page errors and `securitypolicyviolation` events; `assert_clean()` fails on any that mentions the
  Content Security Policy (or on any uncaught page error).
* `route_to_stubs(context, hosts)`: requests to those hosts get a small stub page naming the host, and are
  remembered (`.urls`). Playwright routes only a request the page itself makes: a request that a redirect
  leads to is not routed, so the site's own 302 to a network needs `external_sites`.
* `external_sites(hosts)`: an HTTPS stub on 127.0.0.1 and the Chromium arguments that resolve `hosts` to it
  (--host-resolver-rules): the browser really follows a redirect to https://www.linkedin.com/… and lands
  on the stub (a self-signed certificate: open the context with ignore_https_errors=True). Needs openssl.
* `requested_navigations(page)`: the URLs the page's frames were asked to navigate to (Chromium's DevTools
  event Page.frameRequestedNavigation): how a mailto: link, which opens the mail program and loads
  nothing, is seen.
"""

import contextlib
import http.server
import shutil
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

from tests.support.services import need_service

CSP_WORDS = "Content Security Policy"
STUB_PAGE = "<!doctype html><html lang=en><title>{host}</title><h1>Stub of {host}</h1></html>"

# Every page of the context records the violations it sees (they also reach the console, but an event
# is certain to name the directive).
_VIOLATION_LISTENER = """() => { window.__csp = []; document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI)); }"""


class CspWatch:
    def __init__(self, context):
        self.messages: list[str] = []
        self.errors: list[str] = []
        self.pages = []
        context.add_init_script(f"({_VIOLATION_LISTENER})()")
        for page in context.pages:
            self._watch(page)
        context.on("page", self._watch)

    def _watch(self, page):
        self.pages.append(page)
        page.on("console", lambda message: self.messages.append(f"{page.url}: {message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    def violations(self) -> list[str]:
        seen = [m for m in self.messages if CSP_WORDS.lower() in m.lower()]
        for page in self.pages:
            if page.is_closed():
                continue
            with contextlib.suppress(Exception):  # a page on another origin, or navigating away
                seen += [f"{page.url}: {v}" for v in page.evaluate("() => window.__csp || []")]
        return seen

    def assert_clean(self) -> None:
        violations = self.violations()
        assert not violations, f"Content Security Policy violations: {violations}"
        assert not self.errors, f"Uncaught errors in the page: {self.errors}"


class RoutedStubs:
    def __init__(self):
        self.urls: list[str] = []

    def handle(self, route):
        self.urls.append(route.request.url)
        host = route.request.url.split("/")[2]
        route.fulfill(status=200, content_type="text/html", body=STUB_PAGE.format(host=host))


def route_to_stubs(context, hosts) -> RoutedStubs:
    stubs = RoutedStubs()
    for host in hosts:
        context.route(f"https://{host}/**", stubs.handle)
    return stubs


class _StubHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/favicon"):
            self.send_error(404)
            return
        host = self.headers.get("Host", "")
        self.server.urls.append(f"https://{host}{self.path}")
        body = STUB_PAGE.format(host=host).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ExternalSites:
    def __init__(self, server, hosts):
        self.server = server
        self.hosts = list(hosts)

    @property
    def urls(self) -> list[str]:
        return list(self.server.urls)

    @property
    def chromium_args(self) -> list[str]:
        port = self.server.server_address[1]
        rules = ", ".join(f"MAP {host} 127.0.0.1:{port}" for host in self.hosts)
        return [f"--host-resolver-rules={rules}"]


@contextlib.contextmanager
def external_sites(hosts):
    openssl = shutil.which("openssl")
    need_service("openssl", openssl is not None, "needed for the HTTPS stub of outside sites")
    with tempfile.TemporaryDirectory() as folder:
        key, cert = Path(folder) / "key.pem", Path(folder) / "cert.pem"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=stub",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
        server.urls = []
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield ExternalSites(server, hosts)
        finally:
            server.shutdown()
            server.server_close()


def requested_navigations(page) -> list[str]:
    urls: list[str] = []
    session = page.context.new_cdp_session(page)
    session.send("Page.enable")
    session.on("Page.frameRequestedNavigation", lambda event: urls.append(event["url"]))
    return urls
