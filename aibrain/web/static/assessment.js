// The assessment's chart by day (incidents, false alarms, resolved on time, verified) and the print button.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("daily-data").textContent);
  var printing = document.body.classList.contains("report");
  var chart = echarts.init(document.getElementById("daily-chart"), printing ? null : "dark",
                           {renderer: printing ? "svg" : "canvas"});
  var series = [
    ["incidents", "立案 incidents", "bar", "#3fa7ff"],
    ["false_alarms", "误报 false alarms", "bar", "#8ea3c2"],
    ["resolved_on_time", "按期处置 resolved on time", "line", "#38c98b"],
    ["verified", "核查通过 verified", "line", "#a98bff"]
  ];
  chart.setOption({
    backgroundColor: "transparent",
    animation: !printing,
    tooltip: {trigger: "axis"},
    legend: {top: 0},
    grid: {left: 40, right: 20, top: 36, bottom: 28},
    xAxis: {type: "category", data: data.map(function (d) { return d.day.slice(5); })},
    yAxis: {type: "value", minInterval: 1},
    series: series.map(function (s) {
      return {name: s[1], type: s[2], itemStyle: {color: s[3]}, data: data.map(function (d) { return d[s[0]]; })};
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
  var print = document.getElementById("print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
})();
