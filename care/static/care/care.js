// Charts for the pool and campaign pages, drawn with Plotly (served from the installed
// package) from the JSON the page embeds. Every figure is also in the page's tables.
(function () {
  "use strict";

  var layoutBase = {
    margin: { l: 40, r: 20, t: 10, b: 40 },
    font: { family: "system-ui, sans-serif", size: 12 },
  };
  var config = { displayModeBar: false, responsive: true };
  var colours = ["#c0392b", "#1f6feb", "#e0a800", "#1e8449", "#8e44ad", "#16a085", "#66727f"];

  var countAxis = window.NpsCharts.countAxis;

  function plot(el, traces, layout) {
    window.NpsCharts.plot(el, traces, layout, config);
  }

  function series(el, data) {
    if (!data.lines.length) return;
    var most = 1;
    var traces = data.lines.map(function (line, i) {
      most = Math.max(most, Math.max.apply(null, line.y));
      return { x: data.x, y: line.y, name: line.name, type: "scatter", mode: "lines",
               line: { color: colours[i % colours.length], width: 2 },
               hovertemplate: "%{x}: %{y}<extra>" + line.name + "</extra>" };
    });
    var layout = Object.assign({}, layoutBase, {
      showlegend: true, legend: { orientation: "h", y: -0.2 },
      margin: { l: 40, r: 20, t: 10, b: 20 },
      xaxis: { type: "date", tickformat: "%m-%d" }, yaxis: countAxis(most),
    });
    plot(el, traces, layout);
  }

  function bars(el, data) {
    if (!data.labels.length) return;
    var trace = { x: data.labels, y: data.values, type: "bar", marker: { color: "#1f6feb" },
                  hovertemplate: "%{x}: %{y}<extra></extra>" };
    var layout = Object.assign({}, layoutBase, {
      showlegend: false, xaxis: { type: "category", automargin: true },
      yaxis: countAxis(Math.max.apply(null, data.values)),
    });
    plot(el, [trace], layout);
  }

  function beforeAfter(el, data) {
    var x = [el.dataset.labelBefore, el.dataset.labelAfter];
    var shown = data.treated.concat(data.control).filter(function (v) { return v !== null; });
    if (!shown.length) return;
    var line = function (y, name, colour) {
      return { x: x, y: y, name: name, type: "scatter", mode: "lines+markers",
               line: { color: colour, width: 2 }, hovertemplate: "%{x}: %{y:.1f}<extra>" + name + "</extra>" };
    };
    var low = Math.min.apply(null, shown), high = Math.max.apply(null, shown);
    var layout = Object.assign({}, layoutBase, {
      showlegend: true, legend: { orientation: "h", y: -0.15 },
      xaxis: { type: "category" },
      yaxis: { range: [Math.max(0, Math.floor(low / 10) * 10 - 10), Math.min(100, Math.ceil(high / 10) * 10 + 10)] },
    });
    plot(el, [line(data.treated, el.dataset.labelTreated, "#1f6feb"),
              line(data.control, el.dataset.labelControl, "#66727f")], layout);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("chart-data");
    if (!window.Plotly || !source) return;
    var charts = JSON.parse(source.textContent);
    var draw = { "series-chart": [series, charts.series], "region-chart": [bars, charts.region],
                 "tier-chart": [bars, charts.tier], "before-after-chart": [beforeAfter, charts.before_after] };
    Object.keys(draw).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && draw[id][1]) draw[id][0](el, draw[id][1]);
    });
  });
})();
