"""URLs for tests/browser/test_snippet.py only: the app's own URLs plus a pretend customer site
that loads /js/amb.js, with a form that sends `amb_cid` to an echo page."""

from html import escape

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns

SHOP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
<script src="/js/amb.js"{attrs}></script></head>
<body><h1>Ask for a quote</h1>
<form id="lead" action="/shop/thanks/" method="get">
  <input name="email" type="email" value="lead@example.com">
  <input name="amb_cid" type="hidden">
  <button type="submit">Send</button>
</form></body></html>"""


def shop(request, attrs=""):
    return HttpResponse(SHOP_PAGE.format(attrs=attrs))


def thanks(request):
    cid = escape(request.GET.get("amb_cid", ""))
    return HttpResponse(f'<!doctype html><title>Thanks</title><p>Received: <output id="cid">{cid}</output></p>')


urlpatterns = [
    path("shop/", shop, name="shop"),
    path("shop/short/", shop, {"attrs": ' data-days="7"'}, name="shop_short"),
    path("shop/thanks/", thanks, name="shop_thanks"),
    *app_urlpatterns,
]
