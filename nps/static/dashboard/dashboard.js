// Charts for the NPS dashboard, drawn with Plotly (served from the installed package) from
// the JSON the page embeds. Every figure is also in the page's tables: without JavaScript
// nothing is lost but the pictures.
(function () {
  "use strict";

  function presetClearsDates() {
    var preset = document.querySelector('#filters select[name="preset"]');
    if (!preset) return;
    preset.addEventListener("change", function () {
      ["start", "end"].forEach(function (name) {
        var input = document.querySelector('#filters input[name="' + name + '"]');
        if (input) input.value = "";
      });
    });
  }

  var layoutBase = {
    margin: { l: 40, r: 40, t: 10, b: 40 },
    showlegend: false,
    font: { family: "system-ui, sans-serif", size: 12 },
  };
  var config = { displayModeBar: false, responsive: true };

  var countAxis = window.NpsCharts.countAxis;

  function plot(el, traces, layout) {
    window.NpsCharts.plot(el, traces, layout, config);
  }

  function trend(el, data) {
    // No point with enough answers: the page says why instead of an empty frame.
    if (!data.nps.some(function (v) { return v !== null; })) return;
    var band = {
      x: data.x.concat(data.x.slice().reverse()),
      y: data.high.concat(data.low.slice().reverse()),
      fill: "toself", fillcolor: "rgba(31,111,235,0.15)", line: { width: 0 },
      hoverinfo: "skip", name: el.dataset.labelBand, type: "scatter", mode: "lines",
    };
    var line = {
      x: data.x, y: data.nps, customdata: data.n, name: el.dataset.labelNps,
      mode: "lines+markers", type: "scatter", line: { color: "#1f6feb" },
      hovertemplate: "%{x}: %{y} (n=%{customdata})<extra></extra>",
      // Whiskers too: a lone point (or one between gaps) has no band to show its margin.
      error_y: {
        type: "data", symmetric: false, color: "rgba(31,111,235,0.5)", thickness: 1, width: 3,
        array: data.high.map(function (h, i) { return h === null ? null : h - data.nps[i]; }),
        arrayminus: data.low.map(function (l, i) { return l === null ? null : data.nps[i] - l; }),
      },
    };
    // One period: a date axis would zoom into milliseconds around it.
    var xaxis = data.x.length === 1 ? { type: "category" } : { type: "date", tickformat: "%Y-%m-%d" };
    var layout = Object.assign({}, layoutBase, {
      xaxis: xaxis, yaxis: { range: [-100, 100], zeroline: true },
    });
    plot(el, [band, line], layout);
  }

  function pareto(el, data) {
    if (!data.labels.length) return;
    var bars = { x: data.labels, y: data.counts, type: "bar", name: el.dataset.labelCount,
                 marker: { color: "#c0392b" } };
    var cumulative = { x: data.labels, y: data.cumulative, yaxis: "y2", type: "scatter",
                       mode: "lines+markers", name: el.dataset.labelCumulative,
                       line: { color: "#1d2733" } };
    var layout = Object.assign({}, layoutBase, {
      margin: { l: 40, r: 50, t: 10, b: 70 },
      xaxis: { automargin: true },
      yaxis: countAxis(Math.max.apply(null, data.counts)),
      yaxis2: { overlaying: "y", side: "right", range: [0, 105], ticksuffix: "%",
                tickvals: [0, 25, 50, 75, 100] },
    });
    plot(el, [bars, cumulative], layout);
  }

  function funnel(el, data) {
    if (!data.values[0]) return;
    var trace = { type: "funnel", y: data.labels, x: data.values, textinfo: "value+percent initial",
                  marker: { color: "#1f6feb" } };
    var layout = Object.assign({}, layoutBase, { margin: { l: 110, r: 20, t: 10, b: 20 } });
    plot(el, [trace], layout);
  }

  document.addEventListener("DOMContentLoaded", function () {
    presetClearsDates();
    var source = document.getElementById("chart-data");
    if (!window.Plotly || !source) return;
    var charts = JSON.parse(source.textContent);
    var draw = { "trend-chart": [trend, charts.trend], "pareto-chart": [pareto, charts.pareto],
                 "funnel-chart": [funnel, charts.funnel] };
    Object.keys(draw).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) draw[id][0](el, draw[id][1]);
    });
  });
})();
