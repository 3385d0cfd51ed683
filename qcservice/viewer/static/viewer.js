// The viewer's interactive parts: grid values and IFU choice, IFU plot, trends, cube curves,
// calib plot, the queue's select-all.
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
      const x = m.values.map(function (_, i) { return i + 1; });   // IFU 1..N
      const lim = limitShapes((page.limits || {})[name] || [], 0, 0, false);
      Plotly.react(plot, [{ x: x, y: m.values, type: "bar", name: name }],
        { title: { text: name + " per IFU (median over sub-units)" },
          xaxis: { title: { text: "IFU" }, dtick: 1 },
          yaxis: { title: { text: name + (m.unit ? " [" + m.unit + "]" : "") } },
          shapes: lim.shapes, annotations: lim.annotations, margin: { t: 40 } }, { responsive: true });
    }
    const link = document.getElementById("trend-link");
    if (link && page.trends_url) {
      link.href = page.trends_url + "?metric=" + encodeURIComponent(name) +
        (page.type ? "&type=" + encodeURIComponent(page.type) : "");
    }
  }

  const LIMIT_COLOURS = { warn_low: "#b35900", warn_high: "#b35900", error_low: "#b71c1c",
                          error_high: "#b71c1c", nominal: "#1a7431" };

  // the limits as dashed segments over their validity period, labelled
  function limitShapes(limits, xmin, xmax, withPeriods) {
    const shapes = [], notes = [];
    limits.forEach(function (t) {
      Object.keys(LIMIT_COLOURS).forEach(function (k) {
        const y = t[k];
        if (y === null || y === undefined) { return; }
        const from = withPeriods && t.valid_from > xmin ? t.valid_from : xmin;
        const to = withPeriods && t.valid_to && t.valid_to < xmax ? t.valid_to : xmax;
        if (withPeriods && (to < xmin || from > xmax)) { return; }
        const common = { line: { color: LIMIT_COLOURS[k], dash: "dash", width: 1 } };
        if (withPeriods) {
          shapes.push(Object.assign({ type: "line", xref: "x", x0: from, x1: to, y0: y, y1: y }, common));
        } else {
          shapes.push(Object.assign({ type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y }, common));
        }
        notes.push({ x: withPeriods ? from : 0, xref: withPeriods ? "x" : "paper", y: y,
                     xanchor: "left", yanchor: "bottom", showarrow: false,
                     font: { size: 10, color: LIMIT_COLOURS[k] },
                     text: t.flag + " " + k.replace("_", " ") + " " + y +
                       (withPeriods ? " (from " + t.valid_from + (t.valid_to ? " to " + t.valid_to : "") + ")" : "") });
      });
    });
    return { shapes: shapes, annotations: notes };
  }

  const MARK = { warning: { color: "#b35900", symbol: "diamond", size: 9 },
                 error: { color: "#b71c1c", symbol: "x", size: 10 } };

  function trendTraces(d) {
    const traces = [];
    // SVG, even for many points: plotly's WebGL traces draw nothing ("WebGL is not
    // supported") in browsers without a usable GPU context (headless, remote desktops)
    const kind = "scatter";
    Object.keys(d.series).forEach(function (name) {
      const s = d.series[name];
      traces.push({ x: s.x, y: s.y, customdata: s.file_id, mode: "markers", type: kind,
                    name: name, marker: { size: 5 },
                    hovertemplate: name + " %{x}: %{y}<extra>file %{customdata}</extra>" });
      ["warning", "error"].forEach(function (level) {
        const idx = s.level.map(function (l, i) { return l === level ? i : -1; })
          .filter(function (i) { return i >= 0; });
        if (!idx.length) { return; }
        traces.push({ x: idx.map(function (i) { return s.x[i]; }), y: idx.map(function (i) { return s.y[i]; }),
                      customdata: idx.map(function (i) { return s.file_id[i]; }), mode: "markers",
                      type: "scatter", name: name + " " + level, showlegend: false,
                      marker: MARK[level],
                      hovertemplate: name + " " + level + " %{x}: %{y}<extra>file %{customdata}</extra>" });
      });
    });
    if (d.dimm && d.dimm.x.length) {
      traces.push({ x: d.dimm.x, y: d.dimm.y, mode: "lines+markers", type: "scatter",
                    name: "DIMM seeing [arcsec]", line: { color: "#555", dash: "dot" } });
    }
    return traces;
  }

  function extent(traces) {
    let lo = null, hi = null;
    traces.forEach(function (t) { t.x.forEach(function (x) {
      if (lo === null || x < lo) { lo = x; } if (hi === null || x > hi) { hi = x; } }); });
    return [lo, hi];
  }

  function drawTrend(node, d, title) {
    const traces = trendTraces(d);
    const span = extent(traces);
    const lim = span[0] ? limitShapes(d.limits, span[0], span[1], true) : { shapes: [], annotations: [] };
    Plotly.react(node, traces, {
      title: { text: title || (d.metric + (d.ifu ? " · IFU " + d.ifu : "")) },
      xaxis: { title: { text: "night" }, type: "date", tickformat: "%Y-%m-%d" },
      yaxis: { title: { text: d.metric + (d.unit ? " [" + d.unit + "]" : "") } },
      shapes: lim.shapes, annotations: lim.annotations, margin: { t: 40 },
      legend: { orientation: "h" } }, { responsive: true });
    node.on("plotly_click", function (ev) {
      const fid = ev.points[0].customdata;
      if (fid) { window.location.href = page.file_url + fid; }
    });
    const out = [];
    Object.keys(d.series).forEach(function (name) {
      const s = d.series[name];
      const bad = s.level.filter(function (l) { return l; }).length;
      if (bad) { out.push(name + ": " + bad + " of " + s.y.length + " out of limits"); }
    });
    return out;
  }

  function trendQuery(form) {
    const params = new URLSearchParams(new FormData(form));
    [...params.keys()].forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
    return params;
  }

  function loadTrend(form) {
    const params = trendQuery(form);
    document.getElementById("export-json").href = page.trend_api + "?" + params.toString();
    const csv = new URLSearchParams(params); csv.set("format", "csv");
    document.getElementById("export-csv").href = page.trend_api + "?" + csv.toString();
    fetch(page.trend_api + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        const node = document.getElementById("trend-plot");
        const bad = drawTrend(node, d);
        let n = 0;
        Object.keys(d.series).forEach(function (k) { n += d.series[k].y.length; });
        document.getElementById("trend-summary").textContent = n + " points in " +
          Object.keys(d.series).length + " series. " + (bad.length ? bad.join("; ") : "None out of limits.");
        node.dataset.loaded = "1";
      });
  }

  function loadSmallTrends() {
    document.querySelectorAll("[data-trend]").forEach(function (node) {
      fetch(node.dataset.trend, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (!Object.keys(d.series).length) {
            node.textContent = node.dataset.title + ": no values yet."; node.classList.add("empty"); return;
          }
          drawTrend(node, d, node.dataset.title);
        });
    });
  }

  function selectIfu(cell) {
    const select = document.getElementById("ifu-select");
    if (!select) { return; }
    select.value = cell.dataset.ifu;
    document.querySelectorAll(".grid .cell.selected").forEach(function (c) { c.classList.remove("selected"); });
    document.querySelectorAll(".grid .cell[data-ifu='" + cell.dataset.ifu + "']").forEach(function (c) {
      c.classList.add("selected"); });
    const valid = document.getElementById("ifu-valid");
    if (valid && cell.classList.contains("bad")) { valid.value = "1"; }
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

  function drawSpectrum() {
    const node = document.getElementById("spectrum-plot");
    const s = page.spectrum;
    if (!node || !s) { return; }
    const upper = s.y.map(function (y, i) { return y === null || s.err[i] === null ? null : y + s.err[i]; });
    const lower = s.y.map(function (y, i) { return y === null || s.err[i] === null ? null : y - s.err[i]; });
    Plotly.newPlot(node, [
      { x: s.x, y: upper, type: "scatter", mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
      { x: s.x, y: lower, type: "scatter", mode: "lines", line: { width: 0 }, fill: "tonexty",
        fillcolor: "rgba(29,53,87,0.25)", name: "± error" },
      { x: s.x, y: s.y, type: "scatter", mode: "lines", line: { color: "#1d3557", width: 1 }, name: "flux" }],
      { title: { text: "spectrum with its error" }, xaxis: { title: { text: "wavelength [" + s.x_unit + "]" } },
        yaxis: { title: { text: "flux [" + s.y_unit + "]" } }, margin: { t: 40 } }, { responsive: true });
  }

  function drawCalib() {
    const node = document.getElementById("calib-plot");
    if (!node || !page.calib) { return; }
    const traces = Object.keys(page.calib).map(function (sub) {
      const pts = page.calib[sub];
      return { x: pts.map(function (p) { return p[0]; }), y: pts.map(function (p) { return p[1]; }),
               mode: "markers", type: "scatter", name: sub ? "sub-unit " + sub : page.metric };
    });
    const lim = limitShapes(page.limits || [], 0, 0, false);
    Plotly.newPlot(node, traces, { title: { text: page.metric + " per IFU" },
      xaxis: { title: { text: "IFU" }, dtick: 1 }, yaxis: { title: { text: page.metric } },
      shapes: lim.shapes, annotations: lim.annotations, margin: { t: 40 } }, { responsive: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const select = document.getElementById("metric-select");
    if (select) {
      select.addEventListener("change", function () { showMetric(select.value); });
      showMetric(select.value);
    }
    const toggle = document.getElementById("show-medians");
    if (toggle) {
      const apply = function () {
        document.querySelectorAll(".grid").forEach(function (g) {
          g.classList.toggle("show-medians", toggle.checked);
        });
      };
      toggle.addEventListener("change", apply);
      apply();   // ticked before this script ran, or restored by the browser
    }
    const trend = document.getElementById("trend-form");
    if (trend && hasPlotly) {
      trend.addEventListener("submit", function (e) {
        e.preventDefault();
        history.replaceState(null, "", "?" + trendQuery(trend).toString());
        loadTrend(trend);
      });
      if (document.getElementById("trend-metric").value) { loadTrend(trend); }
    }
    if (hasPlotly) { loadSmallTrends(); }
    document.querySelectorAll(".grid .cell").forEach(function (cell) {
      cell.addEventListener("click", function () { selectIfu(cell); });
      cell.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectIfu(cell); }
      });
    });
    const all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("#review input[name='file_id']").forEach(function (c) {
          c.checked = all.checked; });
      });
    }
    if (page.curves && hasPlotly) { drawCurves(); }
    if (hasPlotly) { drawCalib(); drawSpectrum(); }
  });
}());
