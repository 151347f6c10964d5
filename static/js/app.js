/* Small progressive enhancements; every page works without this file.
 * 1. Tables not already in a scrolling wrapper get one, so a wide table scrolls on its own
 *    instead of widening the page (app.css has a no-script fallback for narrow screens).
 * 2. An open menu (<details>) closes on Escape or a click elsewhere.
 * 3. "Copy" buttons: data-copy names the field whose value is copied. Without JavaScript the fields stay
 *    selectable.
 * 4. A field with data-select-on-focus selects its whole value on focus (the new API key).
 * 5. A link with data-back goes back in history when there is one (its href is the fallback).
 * No inline <script> or on…= handlers anywhere: the Content-Security-Policy allows script from 'self' only. */
(function () {
  "use strict";
  function wrapTables(root) {
    root.querySelectorAll("main table").forEach(function (table) {
      var parent = table.parentElement;
      if (parent.closest(".table-wrap, .table-scroll")) { return; }
      var wrap = document.createElement("div");
      wrap.className = "table-wrap";
      parent.insertBefore(wrap, table);
      wrap.appendChild(table);
    });
  }
  function closeMenus(except) {
    document.querySelectorAll("header details[open]").forEach(function (d) {
      if (d !== except) { d.removeAttribute("open"); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wrapTables(document); });
  document.addEventListener("htmx:afterSettle", function () { wrapTables(document); });
  document.addEventListener("click", function (event) { closeMenus(event.target.closest("header details")); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done);
    } else {
      field.focus(); field.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* the field stays selected */ }
    }
  });
  document.addEventListener("click", function (event) {
    var back = event.target.closest("a[data-back]");
    if (back && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("header details[open]");
    if (open) { closeMenus(null); open.querySelector("summary").focus(); }
  });
})();
