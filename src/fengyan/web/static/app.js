/* Fengyan workbench pages: charts (ECharts, vendored) and small conveniences.
   No inline scripts anywhere (CSP): pages embed their data as
   <script type="application/json" id="…"> and mark chart boxes with data-chart. */
(function () {
  "use strict";
  var COLORS = { red: "#d9363e", orange: "#f08c00", yellow: "#e6b800", blue: "#3a7bd5" };
  var GRADES = ["red", "orange", "yellow", "blue"];

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var charts = [];
  function chart(el) {
    var c = window.echarts.init(el, null, { renderer: "canvas" });
    charts.push(c);
    window.addEventListener("resize", function () { if (!c.isDisposed()) { c.resize(); } });
    return c;
  }
  // Stop animations and the force layout before the page goes: their timers otherwise
  // fire into a half-torn-down chart while the next page loads.
  window.addEventListener("pagehide", function () {
    charts.forEach(function (c) { if (!c.isDisposed()) { c.dispose(); } });
  });
  function query(params) {
    var q = new URLSearchParams(window.location.search);
    Object.keys(params).forEach(function (k) { q.set(k, params[k]); });
    return "?" + q.toString();
  }

  var draw = {
    trend: function (el, d) {
      var months = d.points.map(function (p) { return p.month; });
      chart(el).setOption({
        tooltip: { trigger: "axis" }, legend: { top: 0 },
        grid: { left: 40, right: 10, top: 30, bottom: 25 },
        xAxis: { type: "category", data: months }, yAxis: { type: "value" },
        series: GRADES.map(function (g) {
          return { name: d.labels[g], type: "bar", stack: "g", color: COLORS[g],
                   data: d.points.map(function (p) { return p[g]; }) };
        })
      });
    },
    compare: function (el, d) {
      var items = d.items;
      var c = chart(el);
      c.setOption({
        tooltip: { trigger: "axis" }, legend: { top: 0 },
        grid: { left: 90, right: 10, top: 30, bottom: 20 },
        yAxis: { type: "category", data: items.map(function (i) { return i.name; }), inverse: true },
        xAxis: { type: "value" },
        series: GRADES.map(function (g) {
          return { name: d.labels[g], type: "bar", stack: "g", color: COLORS[g],
                   data: items.map(function (i) { return i[g]; }) };
        })
      });
      el.style.height = Math.max(220, 28 * items.length + 60) + "px";
      c.resize();
      c.on("click", function (p) {
        var item = items[p.dataIndex];
        if (item && item.drillable) { window.location.href = "/map" + query({ region: item.region_code }); }
      });
    },
    map: function (el, d) {
      fetch(el.getAttribute("data-geo")).then(function (r) { return r.json(); }).then(function (geo) {
        if (!document.body.contains(el)) { return; }
        var name = "fy-" + el.getAttribute("data-geo");
        window.echarts.registerMap(name, geo);
        var byKey = {};
        d.items.forEach(function (i) { byKey[i.map_key] = i; });
        var max = Math.max.apply(null, [1].concat(d.items.map(function (i) { return i.warned; })));
        var c = chart(el);
        c.setOption({
          tooltip: {
            formatter: function (p) {
              var i = byKey[p.name];
              if (!i) { return (p.data && p.data.label) || p.name; }
              return i.name + "<br>" + GRADES.map(function (g) { return d.labels[g] + " " + i[g]; }).join(" · ") +
                "<br>" + d.labels.warned + " " + i.warned;
            }
          },
          visualMap: { min: 0, max: max, left: 10, bottom: 10, calculable: true,
                       inRange: { color: ["#fff5e6", "#f08c00", "#d9363e"] } },
          series: [{
            type: "map", map: name, nameProperty: "adcode", roam: true,
            label: { show: true, fontSize: 11,
                     formatter: function (p) { var i = byKey[p.name]; return i ? i.name : ""; } },
            data: d.items.map(function (i) { return { name: i.map_key, value: i.warned }; })
          }]
        });
        c.on("click", function (p) {
          var i = byKey[p.name];
          if (i && i.drillable) { window.location.href = "/map" + query({ region: i.region_code }); }
        });
        el.setAttribute("data-ready", "1");
      });
    },
    radar: function (el, d) {
      chart(el).setOption({
        tooltip: {},
        radar: { indicator: d.dimensions.map(function (x) { return { name: x.label, max: 1 }; }), radius: "65%" },
        series: [{ type: "radar", areaStyle: { opacity: 0.25 }, color: COLORS[d.grade] || "#555",
                   data: [{ name: d.model_label, value: d.dimensions.map(function (x) { return x.score; }) }] }]
      });
    },
    graph: function (el) {
      var c = chart(el);
      var KIND_COLOR = { enterprise: "#3a7bd5", person: "#8e44ad", address: "#7f8c8d", phone: "#16a085",
                         email: "#16a085", domain: "#d35400", server_ip: "#d35400" };
      function load(hops) {
        fetch(el.getAttribute("data-url") + "&hops=" + hops, { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (g) {
            if (c.isDisposed()) { return; }
            var cats = Object.keys(KIND_COLOR);
            c.setOption({
              tooltip: { formatter: function (p) { return p.dataType === "edge" ? p.data.relation : p.data.label; } },
              legend: { data: cats, top: 0, type: "scroll" },
              series: [{
                type: "graph", layout: "force", roam: true, draggable: true,
                force: { repulsion: 120, edgeLength: 60 },
                categories: cats.map(function (k) { return { name: k, itemStyle: { color: KIND_COLOR[k] } }; }),
                label: { show: true, fontSize: 10, formatter: function (p) { return (p.data.label || "").slice(0, 12); } },
                data: g.nodes.map(function (n) {
                  return { id: n.id, name: n.id, label: n.label, category: cats.indexOf(n.kind),
                           symbolSize: n.id === g.center ? 28 : (n.kind === "enterprise" ? 16 : 10),
                           itemStyle: n.grade ? { borderColor: COLORS[n.grade], borderWidth: 3 } : undefined,
                           link: n.link };
                }),
                links: g.edges.map(function (e) { return { source: e.source, target: e.target, relation: e.relation }; })
              }]
            }, true);
            el.setAttribute("data-nodes", String(g.nodes.length));
            if (g.truncated) { el.setAttribute("title", el.getAttribute("data-truncated")); }
          });
      }
      c.on("dblclick", function (p) {
        if (p.dataType === "node" && p.data.link && p.data.id.indexOf("ent:") === 0) {
          window.location.href = "/firm/" + encodeURIComponent(p.data.id);
        }
      });
      document.querySelectorAll("button.hops").forEach(function (b) {
        b.addEventListener("click", function () { load(b.getAttribute("data-hops")); });
      });
      load(1);
    }
  };

  function init() {
    document.querySelectorAll("select.autosubmit").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var kind = el.getAttribute("data-chart");
      var src = el.getAttribute("data-source");
      try { draw[kind](el, src ? data(src) : null); } catch (e) { el.textContent = String(e); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
