/* Charts of the case statistics page (/cases/stats). The data comes from the
   <script type="application/json" id="case-stats-data"> block (never executed); boxes are
   marked data-case-chart="by_level|by_category|by_outcome". No inline script: the CSP. */
(function () {
  "use strict";
  function start() {
    var holder = document.getElementById("case-stats-data");
    if (!holder || !window.echarts) { return; }
    var data = JSON.parse(holder.textContent || "{}");
    var legend = data.legend || {};
    var builders = {
      by_level: function (d) {
        return {
          tooltip: { trigger: "axis" }, legend: {},
          xAxis: { type: "category", data: d.names }, yAxis: { type: "value" },
          series: [{ name: legend.open, type: "bar", data: d.open },
                   { name: legend.overdue, type: "bar", data: d.overdue }]
        };
      },
      by_category: function (d) {
        return {
          tooltip: { trigger: "axis" }, legend: {},
          xAxis: { type: "category", data: d.names, axisLabel: { rotate: 30 } },
          yAxis: { type: "value" },
          series: [{ name: legend.open, type: "bar", stack: "n", data: d.open },
                   { name: legend.closed, type: "bar", stack: "n", data: d.closed }]
        };
      },
      by_outcome: function (d) {
        return { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: "60%", data: d }] };
      }
    };
    document.querySelectorAll("[data-case-chart]").forEach(function (el) {
      var name = el.getAttribute("data-case-chart");
      if (!builders[name] || !data[name]) { return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(builders[name](data[name]));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
