/* Charts of the organiser's dashboard. The numbers come from the JSON embedded in the page
   (<script type="application/json" id="report-data">); the same numbers are in the tables,
   so the page is complete without this script. ECharts is served from static/vendor/echarts.
   Tooltips are drawn by ECharts itself (renderMode "richText"), not as HTML: its HTML tooltips carry
   style attributes, which the Content-Security-Policy refuses, and would read names as markup. */
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var labels = data.labels;
  var palette = ["#0b5cad", "#3a7fc4", "#1e7a3c", "#9a6700", "#c2571a", "#b3261e"];
  var charts = [];
  var TOOLTIP = { renderMode: "richText", confine: true };

  function tooltip(options) { return Object.assign({}, TOOLTIP, options); }

  function show(id) {
    var element = document.getElementById(id);
    if (!element) { return null; }
    element.hidden = false;
    var chart = echarts.init(element, null, { renderer: "svg" });
    charts.push(chart);
    return chart;
  }

  function wan(value) {
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 });
  }

  function drawFunnel() {
    var chart = show("chart-funnel");
    if (!chart) { return; }
    var stages = data.funnel;
    var top = Math.max(1, stages[0] ? stages[0].enterprises : 1);
    var narrow = chart.getWidth() < 560;
    chart.setOption({
      color: palette,
      tooltip: tooltip({
        trigger: "item",
        formatter: function (item) {
          var stage = stages[item.dataIndex];
          return stage.name + "\n" + labels.enterprises + "：" + stage.enterprises +
            "\n" + labels.amount + "：" + wan(stage.amount_wan);
        }
      }),
      series: [{
        type: "funnel", sort: "none", left: "5%", width: "90%", top: 10, bottom: 10, min: 0,
        max: Math.max(top, Math.max.apply(null, stages.map(function (s) { return s.enterprises; }))),
        minSize: narrow ? "42%" : "22%", gap: 2,
        label: {
          show: true, position: "inside", color: "#fff", fontSize: narrow ? 12 : 14,
          formatter: function (item) {
            var stage = stages[item.dataIndex];
            var count = stage.name + " " + stage.enterprises + labels.unit_enterprises;
            return narrow ? count : count + "  ·  " + wan(stage.amount_wan) + labels.unit_amount;
          }
        },
        data: stages.map(function (stage) { return { name: stage.name, value: stage.enterprises }; })
      }]
    });
  }

  function drawBreakdown(dimension) {
    var chart = show("chart-" + dimension);
    var breakdown = data.breakdowns[dimension];
    if (!chart || !breakdown) { return; }
    var count = breakdown.categories.length;
    var many = count > 6 || (chart.getWidth() < 560 && count > 2);  // horizontal bars
    var categoryAxis = { type: "category", data: breakdown.categories, axisLabel: { interval: 0, width: 90, overflow: "truncate" } };
    var valueAxis = { type: "value", name: labels.enterprises, nameGap: 10, minInterval: 1 };
    chart.setOption({
      color: palette,
      legend: { top: 0, type: "scroll" },
      grid: { left: 16, right: 24, top: 64, bottom: 16, containLabel: true },
      tooltip: tooltip({
        trigger: "axis", axisPointer: { type: "shadow" },
        formatter: function (items) {
          var lines = [items[0].axisValueLabel];
          items.forEach(function (item) {
            var series = breakdown.series[item.seriesIndex];
            lines.push(item.marker + series.name + "：" + series.enterprises[item.dataIndex] + " · " +
              wan(series.amount_wan[item.dataIndex]) + " " + labels.amount);
          });
          return lines.join("\n");
        }
      }),
      xAxis: many ? valueAxis : categoryAxis,
      yAxis: many ? Object.assign({}, categoryAxis, { inverse: true }) : valueAxis,
      series: breakdown.series.map(function (series) {
        return { type: "bar", name: series.name, data: series.enterprises };
      })
    });
    if (many) {
      chart.getDom().style.height = Math.max(300, count * 90 + 100) + "px";
      chart.resize();
    }
  }

  function drawResponses() {
    var chart = show("chart-responses");
    var responses = data.responses;
    if (!chart || !responses.institutions.length) { return; }
    chart.getDom().style.height = Math.max(240, responses.institutions.length * 46 + 80) + "px";
    chart.resize();
    chart.setOption({
      color: ["#0b5cad", "#b3261e"],
      legend: { top: 0 },
      tooltip: tooltip({ trigger: "axis", axisPointer: { type: "shadow" } }),
      grid: { left: 16, right: 16, top: 40, bottom: 16, containLabel: true },
      xAxis: { type: "value", minInterval: 0.5 },
      yAxis: { type: "category", inverse: true, data: responses.institutions,
               axisLabel: { width: 120, overflow: "truncate" } },
      series: [
        { type: "bar", name: labels.median_days, data: responses.median_days },
        { type: "bar", name: labels.overdue, data: responses.overdue }
      ]
    });
  }

  drawFunnel();
  Object.keys(data.breakdowns).forEach(drawBreakdown);
  drawResponses();
  window.addEventListener("resize", function () { charts.forEach(function (chart) { chart.resize(); }); });
}());
