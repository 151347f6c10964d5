/*! amb.js - ambassador click tracking for your own site. No dependencies.
 *
 * Use: <script src="https://YOUR-AMB-HOST/js/amb.js" data-days="90" data-domain=".example.com"></script>
 *   data-days   cookie lifetime in days (default 90); data-domain: cookie domain (default: this host).
 * When a visitor lands with ?amb_cid=<click id>, the id is kept in a first-party cookie `amb_cid`
 * (localStorage as fallback) and put into every <input name="amb_cid"> of the page, also when a form
 * is submitted, so it reaches your server with the lead. Send it on to POST /api/v1/track/lead.
 *   window.amb.clickId() -> the click id or null;  window.amb.fill() -> fill the inputs again.
 */
(function (w, d) {
  "use strict";
  var KEY = "amb_cid", VALID = /^[0-9A-Za-z_-]{22}$/;
  var tag = d.currentScript || {getAttribute: function () { return null; }};
  var days = parseFloat(tag.getAttribute("data-days")) || 90;
  var domain = tag.getAttribute("data-domain");

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

  function store(id) {
    try {
      d.cookie = KEY + "=" + id + "; max-age=" + Math.round(days * 86400) + "; path=/; SameSite=Lax" +
        (domain ? "; domain=" + domain : "") + (w.location.protocol === "https:" ? "; Secure" : "");
    } catch (e) { /* cookies refused */ }
    try { w.localStorage.setItem(KEY, id); } catch (e) { /* storage blocked */ }
  }

  var urlId = fromUrl();
  if (urlId) store(urlId);

  function clickId() { return urlId || fromCookie() || fromStorage(); }

  function fill() {
    try {
      var id = clickId(), inputs = d.querySelectorAll('input[name="amb_cid"]');
      if (!id) return;
      for (var i = 0; i < inputs.length; i++) inputs[i].value = id;
    } catch (e) { /* never break the page */ }
  }

  w.amb = {clickId: clickId, fill: fill};
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", fill);
  else fill();
  d.addEventListener("submit", fill, true);
})(window, document);
