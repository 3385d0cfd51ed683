// The viewer's interactive parts: grid values, IFU plot, trends, cube curves, calib plot.
// Data comes from a JSON <script id="page-data"> block or the /api URLs; Plotly is served
// by the viewer itself (/vendor/plotly.min.js), never from a CDN.
(function () {
  "use strict";
  const dataNode = document.getElementById("page-data");
  const page = dataNode ? JSON.parse(dataNode.textContent) : {};
  const hasPlotly = typeof window.Plotly !== "undefined";

  function fmt(v) { return v === null || v === undefined ? "–" : Number(v).toPrecision(4); }

  function showMetric(name) {
    const m = (page.metrics || {})[name];
    document.querySelectorAll(".grid .cell").forEach(function (cell) {
      const ifu = Number(cell.dataset.ifu);
      const v = m ? m.values[ifu - 1] : null;
      cell.querySelector(".value").textContent = fmt(v);
      const base = cell.getAttribute("data-title") || cell.title;
      cell.setAttribute("data-title", base);
      cell.title = base + (m ? "\n" + name + " (median): " + fmt(v) + " " + m.unit : "");
    });
    const plot = document.getElementById("ifu-plot");
    if (plot && hasPlotly && m) {
      const x = [...Array(24).keys()].map(function (i) { return i + 1; });
      Plotly.react(plot, [{ x: x, y: m.values, type: "bar", name: name }],
        { title: { text: name + " per IFU (median over sub-units)" },
          xaxis: { title: { text: "IFU" }, dtick: 1 },
          yaxis: { title: { text: m.unit } }, margin: { t: 40 } }, { responsive: true });
    }
  }

  function thresholdShapes(limits) {
    const shapes = [];
    limits.forEach(function (t) {
      [["warn_low", "orange"], ["warn_high", "orange"], ["error_low", "red"],
       ["error_high", "red"], ["nominal", "green"]].forEach(function (k) {
        if (t[k[0]] !== null && t[k[0]] !== undefined) {
          shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: t[k[0]], y1: t[k[0]],
                        line: { color: k[1], dash: "dash", width: 1 } });
        }
      });
    });
    return shapes;
  }

  function loadTrend(form) {
    const params = new URLSearchParams(new FormData(form));
    fetch(page.trend_url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        const traces = Object.keys(d.series).map(function (mode) {
          const s = d.series[mode];
          return { x: s.x, y: s.y, mode: "markers", type: "scatter", name: mode };
        });
        const where = d.ifu ? " · IFU " + d.ifu : "";
        Plotly.react("trend-plot", traces,
          { title: { text: d.metric + where }, xaxis: { title: { text: "night" }, type: "date" }, margin: { t: 40 },
            shapes: thresholdShapes(d.thresholds) }, { responsive: true });
      });
  }

  function drawCurves() {
    document.querySelectorAll("[data-curves]").forEach(function (node) {
      const names = node.dataset.curves.split("|");
      const traces = names.filter(function (n) { return page.curves[n]; }).map(function (n) {
        const c = page.curves[n];
        return { x: c.x, y: c.y, type: "scatter", mode: "lines+markers", name: n };
      });
      if (!traces.length) { node.style.display = "none"; return; }
      const shapes = node.dataset.skylines ? (page.sky_lines || []).map(function (w) {
        return { type: "line", yref: "paper", y0: 0, y1: 1, x0: w, x1: w,
                 line: { color: "#888", dash: "dot", width: 1 } };
      }) : [];
      Plotly.newPlot(node, traces, { title: { text: names.join(", ") + " against wavelength" },
        xaxis: { title: { text: "wavelength [Å]" } },
        yaxis: { title: { text: node.dataset.ylabel } },
        shapes: shapes, margin: { t: 40 } }, { responsive: true });
    });
  }

  function drawCalib() {
    const node = document.getElementById("calib-plot");
    if (!node || !page.calib) { return; }
    const traces = Object.keys(page.calib).map(function (sub) {
      const pts = page.calib[sub];
      return { x: pts.map(function (p) { return p[0]; }), y: pts.map(function (p) { return p[1]; }),
               mode: "markers", type: "scatter", name: sub ? "sub-unit " + sub : page.metric };
    });
    Plotly.newPlot(node, traces, { title: { text: page.metric + " per IFU" },
      xaxis: { title: { text: "IFU" }, dtick: 1 }, margin: { t: 40 } }, { responsive: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const select = document.getElementById("metric-select");
    if (select) {
      select.addEventListener("change", function () { showMetric(select.value); });
      showMetric(select.value);
    }
    const toggle = document.getElementById("show-medians");
    if (toggle) {
      toggle.addEventListener("change", function () {
        document.querySelectorAll(".grid").forEach(function (g) {
          g.classList.toggle("show-medians", toggle.checked);
        });
      });
    }
    const trend = document.getElementById("trend-form");
    if (trend && hasPlotly) {
      trend.addEventListener("submit", function (e) { e.preventDefault(); loadTrend(trend); });
      if (document.getElementById("trend-metric").value) { loadTrend(trend); }
    }
    if (page.curves && hasPlotly) { drawCurves(); }
    if (hasPlotly) { drawCalib(); }
  });
}());
