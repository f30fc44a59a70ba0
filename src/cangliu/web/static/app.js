// SKU page: available and reserved per site as a bar chart (ECharts, vendored), drawn again
// when the live region around it is refreshed.
function drawSkuChart() {
  const el = document.getElementById("chart");
  if (!el || !window.echarts) return;
  const data = JSON.parse(el.dataset.chart);
  const labels = JSON.parse(el.dataset.labels);
  if (!data.sites.length) { el.remove(); return; }
  const chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis", renderMode: "richText" },  // drawn, not HTML with inline styles (CSP)
    legend: { data: [labels.available, labels.reserved] },
    xAxis: { type: "category", data: data.sites },
    yAxis: { type: "value" },
    series: [
      { name: labels.available, type: "bar", data: data.available, itemStyle: { color: "#2f9e44" } },
      { name: labels.reserved, type: "bar", data: data.reserved, itemStyle: { color: "#f08c00" } },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
}
document.addEventListener("DOMContentLoaded", drawSkuChart);
document.addEventListener("live:updated", (e) => { if (e.target.id === "sku-live") drawSkuChart(); });
