"""Pure classification of one click: bot or not (and why), device / browser / OS, channel.

No database here: the batch processor (tracking.services.click_processing) calls these for
every raw click. Real traffic has few distinct user agents, so the expensive parts (the
crawler regex, ua-parser's matchers) are memoised per user-agent string."""

import functools
import re
from typing import NamedTuple

import ua_parser
from crawlerdetect import CrawlerDetect

from campaigns.channels import resolve_channel

__all__ = ["UAInfo", "classify", "classify_user_agent", "device_class", "resolve_channel"]

BOT_REASON_MAX = 40  # Click.bot_reason
FAMILY_MAX = 40  # Click.browser, Click.os

# Automation that crawlerdetect may miss or that we want named precisely in bot_reason.
# (name shown in bot_reason, lower-case needle searched in the lower-cased user agent)
HEADLESS_MARKERS = (
    ("HeadlessChrome", "headlesschrome"),
    ("PhantomJS", "phantomjs"),
    ("Lighthouse", "lighthouse"),
    ("Puppeteer", "puppeteer"),
    ("Playwright", "playwright"),
    ("Selenium", "selenium"),
    ("SlimerJS", "slimerjs"),
)
SCRIPT_MARKERS = (
    ("python-requests", "python-requests"),
    ("python-urllib", "python-urllib"),
    ("aiohttp", "aiohttp"),
    ("httpx", "python-httpx"),
    ("curl", "curl/"),
    ("wget", "wget/"),
    ("Go-http-client", "go-http-client"),
    ("okhttp", "okhttp"),
    ("Java", "java/"),
    ("Apache-HttpClient", "apache-httpclient"),
    ("libwww-perl", "libwww-perl"),
    ("node-fetch", "node-fetch"),
    ("axios", "axios/"),
)

DEVICE_MOBILE = "mobile"
DEVICE_TABLET = "tablet"
DEVICE_DESKTOP = "desktop"
DEVICE_BOT = "bot"

MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Symbian OS", "Tizen",
             "HarmonyOS"}
DESKTOP_OS = {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Chrome OS", "FreeBSD", "OpenBSD", "NetBSD",
              "Debian", "Solaris"}
_TABLET_RE = re.compile(r"tablet|ipad|kindle|silk/|playbook|nexus (7|9|10)|sm-t\d|sm-x\d", re.IGNORECASE)


class UAInfo(NamedTuple):
    is_bot: bool
    bot_reason: str
    device: str
    browser: str
    os: str


def _bot_reason(user_agent: str) -> str:
    """Why this user agent is a bot ("" when it looks like a person's browser)."""
    if not user_agent.strip():
        return "empty-ua"
    lowered = user_agent.lower()
    for name, needle in HEADLESS_MARKERS:
        if needle in lowered:
            return f"headless:{name}"
    detector = CrawlerDetect()  # one per call: its last match is instance state
    if detector.is_crawler(user_agent):
        return f"crawler:{detector.get_matches() or 'unknown'}"[:BOT_REASON_MAX]
    for name, needle in SCRIPT_MARKERS:
        if needle in lowered:
            return f"script:{name}"
    return ""


def device_class(user_agent: str, result: ua_parser.Result) -> str:
    """mobile / tablet / desktop / bot, or "" when nothing can be told."""
    device, os = result.device, result.os
    if device is not None and device.brand == "Spider":
        return DEVICE_BOT
    family = device.family if device else ""
    brand = (device.brand or "") if device else ""
    os_family = os.family if os else ""
    lowered = user_agent.lower()
    if "Tablet" in brand or "Tablet" in family or _TABLET_RE.search(user_agent):
        return DEVICE_TABLET
    if os_family == "Android" and "mobile" not in lowered:
        # Android browsers say "Mobile" on phones and leave it out on tablets (Google's convention).
        return DEVICE_TABLET
    if (family in ("iPhone", "iPod") or "Smartphone" in family or os_family in MOBILE_OS
            or "mobile" in lowered or "phone" in lowered):
        return DEVICE_MOBILE
    if os_family in DESKTOP_OS or family == "Mac":
        return DEVICE_DESKTOP
    if result.user_agent is not None:
        return DEVICE_DESKTOP  # a known browser on an unknown OS: assume a computer
    return ""


@functools.lru_cache(maxsize=8192)
def classify_user_agent(user_agent: str) -> UAInfo:
    """Bot flag and reason, device class, browser and OS families of a user agent. Memoised."""
    reason = _bot_reason(user_agent)
    result = ua_parser.parse(user_agent) if user_agent else None
    browser = (result.user_agent.family if result and result.user_agent else "")[:FAMILY_MAX]
    os_family = (result.os.family if result and result.os else "")[:FAMILY_MAX]
    if reason:
        return UAInfo(True, reason, DEVICE_BOT, browser, os_family)
    device = device_class(user_agent, result) if result else ""
    if device == DEVICE_BOT:  # ua-parser knows a spider that crawlerdetect doesn't
        return UAInfo(True, f"spider:{browser or 'unknown'}"[:BOT_REASON_MAX], DEVICE_BOT, browser, os_family)
    return UAInfo(False, "", device, browser, os_family)


def classify(user_agent: str, is_head: bool) -> UAInfo:
    """A click's classification: its user agent's, except that a HEAD request is always a bot
    (link previews and probes: X fetches with one GET and three HEADs under browser UAs)."""
    info = classify_user_agent(user_agent)
    if is_head:
        return info._replace(is_bot=True, bot_reason="head", device=DEVICE_BOT)
    return info
