/* Charts: every <figure data-chart-spec="ID"> (templates/reports/_chart.html, made by reports.charts.chart_spec)
 * is drawn on its <canvas> with Chart.js (static/vendor/chartjs, from npm; MIT), from the JSON in
 * <script type="application/json" id="ID"> (Django's json_script). Axes are titled with their units, the legend
 * names each series, tooltips show the value with its unit; the data table in the figure has the same numbers.
 * Numbers arrive as strings (exact decimals) and become JS numbers only to draw.
 * No inline script or style attribute: Chart.js sizes the canvas through the CSSOM, which the CSP allows;
 * the size of the box comes from app.css (.chart-canvas).
 * base.html loads this small file on every page; the library itself (its address in this script's
 * data-chartjs) is fetched only by a page that has a chart, from the site (script-src 'self'). Without it
 * (no script, or it failed to load) the data tables remain. */
(function () {
  "use strict";
  var me = document.currentScript;
  var libraryUrl = me && me.getAttribute("data-chartjs");
  var waiting = null;  // callbacks while the library loads

  var PALETTE = ["#0a58ca", "#c9202c", "#1a7f37", "#8a5a00", "#6f42c1", "#0f7b8a", "#d63384", "#57606a"];

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function toNumber(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  function formatValue(value, unit, locale) {
    if (value === null || value === undefined || isNaN(value)) { return "–"; }
    var text = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value);
    if (!unit) { return text; }
    return unit === "%" ? text + " %" : text + " " + unit;
  }

  // A labelled vertical line at spec.marker.at (the break-even period): drawn on the canvas, no DOM.
  var markerPlugin = {
    id: "ambMarker",
    afterDatasetsDraw: function (chart, args, options) {
      if (!options || options.index === undefined || options.index < 0) { return; }
      var x = chart.scales.x.getPixelForValue(options.index);
      var area = chart.chartArea;
      var ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = options.color;
      ctx.fillStyle = options.color;
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(x, area.top);
      ctx.lineTo(x, area.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = "600 12px " + cssVar("--font", "sans-serif");
      var right = x > (area.left + area.right) / 2;  // the label on the side with more room
      var width = ctx.measureText(options.text).width;
      var left = right ? x - 8 - width : x + 8;
      ctx.fillStyle = options.background;  // a plate under the label, so bars don't hide it
      ctx.fillRect(left - 4, area.top + 2, width + 8, 18);
      ctx.fillStyle = options.color;
      ctx.textAlign = "left";
      ctx.fillText(options.text, left, area.top + 15);
      ctx.restore();
    }
  };

  // Legend and tooltip list the series in the spec's order (dataset `order` only puts lines over bars).
  function bySeries(a, b) { return a.datasetIndex - b.datasetIndex; }

  function config(spec, locale) {
    var ink = cssVar("--ink", "#1b1f24");
    var grid = cssVar("--line", "#d0d7de");
    var stacked = spec.kind === "stacked-bar";
    var datasets = spec.series.map(function (series, index) {
      var colour = PALETTE[index % PALETTE.length];
      var dataset = {
        type: series.kind,
        label: series.unit ? series.label + " (" + series.unit + ")" : series.label,
        data: series.values.map(toNumber),
        yAxisID: series.axis,
        borderColor: colour,
        backgroundColor: series.kind === "bar" ? colour + "cc" : colour,
        unit: series.unit,
        spanGaps: false,
        order: series.kind === "line" ? 0 : 1  // lines drawn over bars
      };
      if (series.kind === "line") {
        dataset.borderWidth = 2;
        dataset.pointRadius = 3;
        dataset.tension = 0;
        dataset.clip = false;  // a point on the edge of the area (rank 1) is drawn whole
        if (series.axis === "y2") { dataset.borderDash = [4, 3]; }
      }
      if (stacked && series.kind === "bar") { dataset.stack = "stack"; }
      return dataset;
    });
    var scales = {
      x: { stacked: stacked, title: { display: true, text: spec.x.title, color: ink }, ticks: { color: ink }, grid: { color: grid } },
      y: {
        stacked: stacked, position: "left", beginAtZero: !spec.y.reverse, reverse: !!spec.y.reverse,
        title: { display: true, text: spec.y.title, color: ink },
        ticks: { color: ink, callback: function (value) { return new Intl.NumberFormat(locale).format(value); } },
        grid: { color: grid }
      }
    };
    if (spec.y.integer) { scales.y.ticks.precision = 0; }
    if (spec.y.reverse) { scales.y.min = 1; scales.x.offset = true; }
    if (spec.y2) {
      scales.y2 = {
        position: "right",
        title: { display: true, text: spec.y2.title, color: ink },
        ticks: { color: ink, callback: function (value) { return new Intl.NumberFormat(locale).format(value); } },
        grid: { drawOnChartArea: false }
      };
    }
    var markerIndex = spec.marker ? spec.labels.indexOf(spec.marker.at) : -1;
    return {
      type: spec.kind === "line" ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: true, position: "bottom", labels: { color: ink, sort: bySeries, boxWidth: 14, boxHeight: 14 } },
          title: { display: false },
          tooltip: {
            itemSort: bySeries,
            callbacks: {
              label: function (item) {
                return item.dataset.label.replace(/ \([^)]*\)$/, "") + ": " +
                  formatValue(item.parsed.y, item.dataset.unit, locale);
              }
            }
          },
          ambMarker: spec.marker ? { index: markerIndex, text: spec.marker.text, color: cssVar("--ok", "#1a7f37"),
                                     background: cssVar("--card", "#fff") } : {}
        },
        scales: scales
      },
      plugins: [markerPlugin]
    };
  }

  // Calls back once window.Chart is there, loading the library the first time a page needs it.
  function withLibrary(callback) {
    if (window.Chart) { callback(); return; }
    if (!libraryUrl) { return; }
    if (waiting) { waiting.push(callback); return; }
    waiting = [callback];
    var script = document.createElement("script");
    script.src = libraryUrl;
    script.addEventListener("load", function () {
      var callbacks = waiting;
      waiting = null;
      callbacks.forEach(function (call) { call(); });
    });
    script.addEventListener("error", function () {
      waiting = null;
      if (window.console) { window.console.error("charts: could not load " + libraryUrl + "; the data tables remain"); }
    });
    document.head.appendChild(script);
  }

  function draw(root) {
    if (!root.querySelector("figure[data-chart-spec]")) { return; }
    withLibrary(function () { drawAll(root); });
  }

  function drawAll(root) {
    root.querySelectorAll("figure[data-chart-spec]").forEach(function (figure) {
      var canvas = figure.querySelector("canvas");
      if (!canvas || window.Chart.getChart(canvas)) { return; }
      var source = document.getElementById(figure.getAttribute("data-chart-spec"));
      if (!source) { return; }
      try {
        // Numbers in the organisation's locale (the data table's), else the page's language.
        var locale = figure.getAttribute("data-locale") || document.documentElement.lang || undefined;
        new window.Chart(canvas, config(JSON.parse(source.textContent), locale));
        figure.classList.add("chart-drawn");
      } catch (error) {
        figure.classList.add("chart-failed");  // the data table stays; the console says why
        if (window.console) { window.console.error("chart " + figure.id + ": " + error); }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:load", function () { draw(document); });  // content swapped in by htmx
})();
