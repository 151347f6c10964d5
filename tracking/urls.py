from django.conf import settings
from django.urls import path, re_path

from . import snippet, views

# Codes and suffixes are matched loosely here and validated in the view, so that junk
# gets the site's 404 page rather than a resolver miss with no page.
urlpatterns = [
    re_path(r"^l/(?P<code>[^/]{1,200})/?$", views.redirect, name="link_redirect"),
    re_path(r"^l/(?P<code>[^/]{1,200})/(?P<suffix>[^/]{1,20})/?$", views.redirect, name="link_redirect_channel"),
    path("js/amb.js", snippet.amb_js, name="amb_js"),
]

if settings.BENCH_VIEWS:
    urlpatterns.append(path("_bench/bare", views.bare_redirect, name="bench_bare"))
