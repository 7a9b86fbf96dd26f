// What every chart of the staff pages shares (the dashboard, the pool and campaign pages):
// one home for the count axis and for drawing into a card.
(function () {
  "use strict";

  // An axis of counts: whole numbers only, from zero, with a step of 1, 2, 5, 10, 20, ...
  // so that Plotly never labels a tick 0.5 (its default for small counts).
  function countAxis(max) {
    var step = 1;
    for (var scale = 1; step * 6 < max; scale *= 10) {
      step = [1, 2, 5].map(function (m) { return m * scale; })
        .concat([10 * scale]).filter(function (s) { return s * 6 >= max; })[0] || 10 * scale;
    }
    return { rangemode: "tozero", tickformat: "d", tick0: 0, dtick: step };
  }

  // An empty chart is hidden (CSS :empty), and Plotly sizes a hidden element at its
  // default 700 px: show it first so the chart takes its card's width.
  function plot(el, traces, layout, config) {
    el.style.display = "block";
    window.Plotly.newPlot(el, traces, layout, config);
  }

  window.NpsCharts = { countAxis: countAxis, plot: plot };
})();
