// Dashboard charts: ECharts drawn from the JSON the page embeds (#dashboard-data) into every
// element with data-chart="trend|drill|heatmap". The tables beside them carry the same figures
// without JavaScript. A live refresh (live:updated) of a region re-draws the charts inside it.
(function () {
  "use strict";
  var charts = new Map();

  function data() {
    var el = document.getElementById("dashboard-data");
    return el ? JSON.parse(el.textContent || "{}") : {};
  }

  function num(v) { return v === null || v === undefined ? null : Number(v); }

  function trend(d, label) {
    return {
      tooltip: {trigger: "axis", renderMode: "richText"}, grid: {left: 60, right: 20, top: 20, bottom: 30},
      xAxis: {type: "category", data: (d.trend || []).map(function (p) { return p.period; })},
      yAxis: {type: "value", scale: true},
      series: [{name: label, type: "line", smooth: true, connectNulls: false,
                data: (d.trend || []).map(function (p) { return num(p.value); })}]
    };
  }

  function drill(d, label) {
    var rows = d.drill || [];
    return {
      tooltip: {trigger: "axis", renderMode: "richText"}, grid: {left: 60, right: 20, top: 20, bottom: 40},
      xAxis: {type: "category", data: rows.map(function (r) { return r.key; })},
      yAxis: {type: "value"},
      series: [{name: label, type: "bar", data: rows.map(function (r) { return num(r.value); })}]
    };
  }

  function heatmap(d, label) {
    var rows = d.heatmap || [], zones = [], cols = {}, points = [];
    rows.forEach(function (r) {
      if (zones.indexOf(r.zone) < 0) zones.push(r.zone);
      var x = cols[r.zone] = (cols[r.zone] === undefined ? 0 : cols[r.zone] + 1);
      points.push({value: [x, zones.indexOf(r.zone), num(r.occupancy_pct)], name: r.bin});
    });
    var width = Math.max.apply(null, [1].concat(Object.keys(cols).map(function (k) { return cols[k] + 1; })));
    return {
      tooltip: {renderMode: "richText", formatter: function (p) { return p.data.name + ": " + (p.data.value[2] === null ? "—" : p.data.value[2] + "%"); }},
      grid: {left: 120, right: 20, top: 20, bottom: 60},
      xAxis: {type: "category", data: Array.from({length: width}, function (_, i) { return i + 1; })},
      yAxis: {type: "category", data: zones},
      visualMap: {min: 0, max: 100, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                  inRange: {color: ["#d3f9d8", "#fff3bf", "#ffa8a8"]}},
      series: [{name: label, type: "heatmap", data: points, label: {show: true, formatter: function (p) { return p.data.name; }}}]
    };
  }

  var builders = {trend: trend, drill: drill, heatmap: heatmap};

  function draw(root) {
    if (!window.echarts) return;
    var d = data();
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.getAttribute("data-chart")];
      if (!build) return;
      var old = charts.get(el);
      if (old) old.dispose();
      var chart = window.echarts.init(el);
      chart.setOption(build(d, el.getAttribute("data-label") || ""));
      charts.set(el, chart);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("live:updated", function (e) { draw(e.target); });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
