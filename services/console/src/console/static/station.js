// The station page: its slow sections (activities, volunteers, money) come as HTML from the
// console itself and replace their placeholders; each placeholder links the section as a
// page of its own, which is what a browser without this script follows. And the chart of
// the station's programme targets (its figures are also the table beside it).
(function () {
  "use strict";

  function load(el) {
    var url = el.dataset.part;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        // A redirect is the sign-in page (the session ended): not a section.
        if (!r.ok || r.redirected) throw new Error(String(r.status));
        return r.text();
      })
      .then(function (html) {
        el.innerHTML = html;
        el.setAttribute("aria-busy", "false");
        el.dataset.loaded = "1";
      })
      .catch(function () {
        var note = el.querySelector(".st-loading");
        if (note) note.textContent = el.dataset.failed || "";
        el.setAttribute("aria-busy", "false");
        el.dataset.loaded = "failed";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-part]").forEach(load);
  });

  window.WusheCharts = window.WusheCharts || {};
  window.WusheCharts["station-progress"] = function (spec) {
    return {
      color: ["#9aa5b1", "#0b5cab"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: spec.names, top: 0 },
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: spec.labels, inverse: true },
      series: [
        { name: spec.names[0], type: "bar", data: spec.target, barGap: "10%" },
        { name: spec.names[1], type: "bar", data: spec.actual, label: { show: true, position: "right" } }
      ]
    };
  };
})();
