"""One notification e-mail as MIME bytes: multipart/alternative (text, HTML), quoted-printable.

Django's EmailMultiAlternatives builds the same message through the standard library's generator,
which folds every header through email.header.Header: about a millisecond per e-mail, a fifth of
the whole cost of an announcement to thousands. This writes the fixed shape of our e-mails
directly, with the standard library's encoders for what needs encoding (RFC 2047 words for
non-ASCII headers, quoted-printable bodies through binascii) and the same refusal of line
breaks in header values that Django makes (a header injection)."""

import binascii
import uuid
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

MAX_HEADER_LINE = 998  # RFC 5322's limit; our values (addresses, a signed URL) stay well under it


class HeaderInjection(ValueError):
    pass


def _ascii(value: str) -> bool:
    return value.isascii()


def header_value(value: str) -> str:
    """A header's value as 7-bit text: as is if ASCII, else RFC 2047 encoded words."""
    if "\n" in value or "\r" in value:
        raise HeaderInjection(f"A header value may not contain a line break: {value!r}")
    if _ascii(value):
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def address(name: str, email: str) -> str:
    """`Name <email>` with the name encoded if needed; the address itself must be ASCII."""
    if "\n" in name or "\r" in name or "\n" in email or "\r" in email:
        raise HeaderInjection("An address may not contain a line break.")
    if not _ascii(email):
        raise UnicodeError(f"{email!r} is not an ASCII address")
    return formataddr((name, email), charset="utf-8")


def _qp(text: str) -> bytes:
    """Quoted-printable of `text` with CRLF line ends (lines of at most 76 characters)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")


def alternative_message(*, sender: str, recipient: str, subject: str, headers: dict[str, str], text: str,
                        html: str) -> bytes:
    """The whole message: From, To, Subject, Date, MIME-Version, `headers` (Message-ID,
    List-Unsubscribe…), then the text and HTML parts."""
    boundary = f"=_{uuid.uuid4().hex}"
    name, email = parseaddr(sender)
    lines = [
        f"From: {address(name, email)}",
        f"To: {address('', recipient)}",
        f"Subject: {header_value(subject)}",
        f"Date: {formatdate(localtime=False)}",
        "MIME-Version: 1.0",
        *(f"{key}: {header_value(value)}" for key, value in headers.items()),
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    for line in lines:
        if len(line) > MAX_HEADER_LINE:
            raise ValueError(f"Header line too long: {line[:60]}…")
    head = "\r\n".join(lines).encode("ascii")
    part = ('Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
            "\r\n")
    return b"".join([
        head, b"\r\n\r\n",
        f"--{boundary}\r\n".encode(), part.format(subtype="plain").encode(), _qp(text), b"\r\n",
        f"--{boundary}\r\n".encode(), part.format(subtype="html").encode(), _qp(html), b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ])
