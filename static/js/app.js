/* Small progressive enhancements; every page works without this file.
 * 1. Tables not already in a scrolling wrapper get one, so a wide table scrolls on its own
 *    instead of widening the page (app.css has a no-script fallback for narrow screens).
 * 2. An open menu (<details>) closes on Escape or a click elsewhere. */
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
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("header details[open]");
    if (open) { closeMenus(null); open.querySelector("summary").focus(); }
  });
})();
