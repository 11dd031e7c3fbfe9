// The console's one script (the CSP allows no inline script). Charts read their data from
// <script type="application/json"> blocks the server renders; each chart's element names
// its data block and its kind. Pages work without this script: every figure is also a table.
(function () {
  "use strict";

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var builders = {};
  window.WusheCharts = builders; // page scripts add builders by kind

  function draw(el) {
    if (typeof echarts === "undefined") return;
    var build = builders[el.dataset.chart];
    var spec = data(el.dataset.source);
    if (!build || !spec) return;
    Promise.resolve(build(spec, el)).then(function (option) {
      if (!option) return;
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      if (option.__onClick) chart.on("click", option.__onClick);
      window.addEventListener("resize", function () {
        // A map caught mid-layout (a zero-sized view) throws; the next resize redraws it.
        try { chart.resize(); } catch (e) { /* keep the page's other charts going */ }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
    // A form control that submits its form when it changes (a picker), without inline JS.
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form && el.form.requestSubmit(); });
    });
  });
})();
