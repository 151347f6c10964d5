/* Tables that fit a phone (issue 15, "layout"; app.css "Responsive report tables").
 * Templates mark their main report tables with class "stack" and give each cell a data-label: on a narrow screen
 * CSS shows every row as a block of "column name … value" lines. For the other tables (and tables added later
 * without labels), this script gives each body cell the name of its column (from the header rows, colspans and
 * two-row headers included) and, on a narrow screen, marks a table "stack" when it is wider than its box.
 * Without script such a table scrolls inside its own box (app.css, app.js). A header over a column of numbers is
 * marked data-num (aligned right, like the numbers). No inline code: CSP script-src 'self'. */
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 47.99rem)");

  // The name of each column: the header cells above it, joined ("Linear: Revenue").
  function columnNames(table) {
    var names = [];
    var head = table.tHead;
    if (!head) { return names; }
    var taken = [];  // rowspans reaching into later header rows
    Array.prototype.forEach.call(head.rows, function (row, r) {
      var col = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        while (taken[r] && taken[r][col]) { col += 1; }
        var text = cell.textContent.replace(/\s+/g, " ").trim();
        for (var c = col; c < col + cell.colSpan; c += 1) {
          if (text && names[c] !== text) { names[c] = names[c] ? names[c] + ": " + text : text; }
          for (var k = 1; k < cell.rowSpan; k += 1) { taken[r + k] = taken[r + k] || []; taken[r + k][c] = true; }
        }
        col += cell.colSpan;
      });
    });
    return names;
  }

  function label(table) {
    if (table.dataset.labelled) { return; }
    table.dataset.labelled = "1";
    var names = columnNames(table);
    if (!names.length) { return; }
    Array.prototype.forEach.call(table.querySelectorAll(":scope > tbody > tr, :scope > tfoot > tr"), function (row) {
      var col = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        if (cell.colSpan === 1 && names[col] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", names[col]);
        }
        col += cell.colSpan;
      });
    });
  }

  // A header over a column of numbers lines up with them (right), like th.num does where a template says so.
  function alignHeaders(table) {
    var head = table.tHead;
    var body = table.tBodies[0];
    if (!head || head.rows.length !== 1 || !body || !body.rows.length) { return; }
    Array.prototype.forEach.call(head.rows[0].cells, function (th, col) {
      if (th.colSpan !== 1 || th.classList.contains("num")) { return; }
      var cells = Array.prototype.map.call(body.rows, function (row) { return row.cells[col]; });
      var numbers = cells.every(function (cell) {
        return cell && (cell.colSpan > 1 || cell.classList.contains("num") || !cell.textContent.trim());
      });
      if (numbers && cells.some(function (cell) { return cell && cell.classList.contains("num"); })) {
        th.setAttribute("data-num", "");
      }
    });
  }

  function tooWide(table) {
    var box = table.closest(".table-wrap, .table-scroll") || table.parentElement;
    return table.offsetWidth > box.clientWidth + 1 || box.scrollWidth > box.clientWidth + 1;
  }

  function fit(root) {
    root.querySelectorAll("main table").forEach(function (table) {
      if (!table.dataset.aligned) { table.dataset.aligned = "1"; alignHeaders(table); }
      if (table.classList.contains("stack")) { return; }
      if (narrow.matches && table.tHead && table.offsetWidth && tooWide(table)) {
        label(table);
        table.classList.add("stack", "stacked-by-script");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { fit(document); });
  document.addEventListener("htmx:afterSettle", function () { fit(document); });
  document.addEventListener("toggle", function (event) { fit(event.target); }, true);  // a <details> opened
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { fit(document); }, 150);
  });
})();
