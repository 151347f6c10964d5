/*! amb.js - ambassador click tracking for your own site. No dependencies.
 *
 * Use: <script src="https://YOUR-AMB-HOST/js/amb.js?org=YOUR-ORG" data-domain=".example.com"></script>
 * With ?org= the platform serves your organisation's tracking mode and cookie lifetime in this file.
 *   full       the click id (?amb_cid=) is kept in a first-party cookie `amb_cid` (localStorage as
 *              fallback); if the browser keeps neither, it travels in links and forms as below;
 *   consent    nothing is stored, and no form filled, until the visitor consents: amb.consent(true),
 *              Google Consent Mode analytics_storage "granted", or IAB TCF v2 purpose 1;
 *   cookieless nothing is stored: the id is added to this site's links and forms.
 * Every <input name="amb_cid"> gets the id and every <input name="amb_mode"> the mode it came
 * through; send both on to POST /api/v1/track/lead (click_id, tracking_mode).
 * Without ?org=: data-mode (default full), data-days (cookie lifetime, default 90).
 *   amb.clickId() -> id or null; amb.mode(); amb.fill(); amb.consent(true|false).
 */
(function (w, d) {
  "use strict";
  var KEY = "amb_cid", MODE = "amb_mode", VALID = /^[0-9A-Za-z_-]{22}$/;
  var served = {};
  var tag = d.currentScript || {getAttribute: function () { return null; }};
  var mode = served.mode || tag.getAttribute("data-mode") || "full";
  if (mode !== "consent" && mode !== "cookieless") mode = "full";
  var days = served.days || parseFloat(tag.getAttribute("data-days")) || 90;
  var domain = tag.getAttribute("data-domain");
  var granted = mode === "full" ? true : null;  // consent: null until the visitor decides
  var carry = false;  // the id travels in links and forms

  function valid(v) { return typeof v === "string" && VALID.test(v) ? v : null; }

  function fromUrl() {
    try {
      var m = /[?&]amb_cid=([^&#]*)/.exec(w.location.search);
      return m ? valid(decodeURIComponent(m[1])) : null;
    } catch (e) { return null; }
  }

  function fromCookie() {
    try {
      var m = /(?:^|;\s*)amb_cid=([^;]*)/.exec(d.cookie);
      return m ? valid(m[1]) : null;
    } catch (e) { return null; }
  }

  function fromStorage() {
    try { return valid(w.localStorage.getItem(KEY)); } catch (e) { return null; }
  }

  function setCookie(value, seconds) {
    try {
      d.cookie = KEY + "=" + value + "; max-age=" + seconds + "; path=/; SameSite=Lax" +
        (domain ? "; domain=" + domain : "") + (w.location.protocol === "https:" ? "; Secure" : "");
    } catch (e) { /* cookies refused */ }
  }

  function store(id) {  // true when the browser kept it
    setCookie(id, Math.round(days * 86400));
    try { w.localStorage.setItem(KEY, id); } catch (e) { /* storage blocked */ }
    return fromCookie() === id || fromStorage() === id;
  }

  function erase() {
    if (fromCookie()) setCookie("", 0);
    try { w.localStorage.removeItem(KEY); } catch (e) { /* storage blocked */ }
  }

  var urlId = fromUrl();

  function keep() {
    if (mode === "cookieless") carry = !!urlId;
    else if (urlId && granted) carry = !store(urlId);
  }

  function clickId() {
    if (!granted && mode !== "cookieless") return null;
    return urlId || (mode === "cookieless" ? null : fromCookie() || fromStorage());
  }

  function currentMode() { return carry && mode === "full" ? "cookieless" : mode; }

  function sameSite(url) {
    var host = url.hostname, here = w.location.hostname;
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    if (host === here) return true;
    var base = domain && domain.replace(/^\./, "");
    return !!base && (host === base || host.slice(-base.length - 1) === "." + base);
  }

  function withId(href, id) {  // the link's address carrying the id, or null to leave it alone
    try {
      var url = new URL(href, w.location.href);
      if (!sameSite(url) || url.searchParams.get(KEY) === id) return null;
      url.searchParams.set(KEY, id);
      return url.href;
    } catch (e) { return null; }
  }

  function decorate(link, id) {
    var href = link.getAttribute("href");
    if (!href || href.charAt(0) === "#" || link.hasAttribute("download")) return;
    var next = withId(href, id);
    if (next) link.setAttribute("href", next);
  }

  function hidden(form, name) {
    var input = d.createElement("input");
    input.type = "hidden";
    input.name = name;
    form.appendChild(input);
  }

  function fill() {
    try {
      var id = clickId(), i;
      if (!id) return;
      if (carry) {
        var forms = d.forms, links = d.querySelectorAll("a[href]");
        for (i = 0; i < forms.length; i++) {
          if (!forms[i].querySelector('input[name="amb_cid"]') && sameSite(new URL(forms[i].getAttribute("action") || "", w.location.href))) {
            hidden(forms[i], KEY);
            hidden(forms[i], MODE);
          }
        }
        for (i = 0; i < links.length; i++) decorate(links[i], id);
      }
      var inputs = d.querySelectorAll('input[name="amb_cid"]'), modes = d.querySelectorAll('input[name="amb_mode"]');
      for (i = 0; i < inputs.length; i++) inputs[i].value = id;
      for (i = 0; i < modes.length; i++) modes[i].value = currentMode();
    } catch (e) { /* never break the page */ }
  }

  function decide(yes, final) {  // final: a decision (not a default), so a refusal forgets what was kept
    if (mode === "cookieless") return;
    var was = granted;
    granted = !!yes;
    if (granted && !was) { keep(); fill(); }
    if (!granted && final) { carry = false; erase(); }
  }

  function consent(yes) { decide(yes !== false, true); }

  // Google Consent Mode: gtag("consent", "default"|"update", {analytics_storage: ...}) in the dataLayer.
  var updated = false;  // a default never overrides the visitor's choice

  function gcm(entry) {
    if (entry && typeof entry === "object" && entry[0] === "consent" && entry[2] && entry[2].analytics_storage) {
      var update = entry[1] === "update";
      if (!update && updated) return;
      updated = updated || update;
      decide(entry[2].analytics_storage === "granted", update);
    }
  }

  function watchDataLayer() {
    var layer = w.dataLayer = w.dataLayer || [], push = layer.push;
    for (var i = 0; i < layer.length; i++) gcm(layer[i]);
    layer.push = function () {
      var result = push.apply(layer, arguments);
      for (var j = 0; j < arguments.length; j++) gcm(arguments[j]);
      return result;
    };
  }

  var tcfWatched = false;

  function watchTcf() {  // IAB TCF v2: purpose 1, storing and reading on the device (GDPR not applying: no need)
    if (mode !== "consent" || tcfWatched || typeof w.__tcfapi !== "function") return;
    tcfWatched = true;
    try {
      w.__tcfapi("addEventListener", 2, function (tc, ok) {
        if (!ok || !tc || (tc.eventStatus !== "tcloaded" && tc.eventStatus !== "useractioncomplete")) return;
        decide(tc.gdprApplies === false || !!(tc.purpose && tc.purpose.consents && tc.purpose.consents[1]), true);
      });
    } catch (e) { /* a broken CMP must not break the page */ }
  }

  if (mode === "cookieless") erase();  // nothing kept from another mode
  if (mode === "consent") {
    try { watchDataLayer(); } catch (e) { /* never break the page */ }
    watchTcf();
  }
  keep();

  function ready() {
    watchTcf();
    fill();
  }

  function onClick(event) {
    var id = carry && clickId(), link = id && event.target && event.target.closest && event.target.closest("a[href]");
    if (link) decorate(link, id);
  }

  w.amb = {clickId: clickId, fill: fill, mode: currentMode, consent: consent};
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", ready);
  else ready();
  w.addEventListener("load", watchTcf);
  d.addEventListener("submit", fill, true);
  d.addEventListener("click", onClick, true);
  d.addEventListener("auxclick", onClick, true);
})(window, document);
