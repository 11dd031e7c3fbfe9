// The foundation page's chart: money to outcomes as a Sankey diagram (funder -> fund ->
// station or city -> outcomes). The figures come from the page's JSON block, the same ones
// as the "flows" table under the chart.
(function () {
  "use strict";

  var COLOURS = {
    funder: "#0b5cab", fund: "#2f7fd1", city: "#1d7a46", station: "#1d7a46",
    unallocated: "#9aa5b1", outcome: "#a85d00", no_outcome: "#c3cbd3"
  };

  function escape(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  window.WusheCharts = window.WusheCharts || {};
  window.WusheCharts.sankey = function (spec, el) {
    var narrow = el.clientWidth < 600;
    var money = {};
    spec.links.forEach(function (l) { money[l.source + "\u0000" + l.target] = l; });
    return {
      animation: false,
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (p) {
          if (p.dataType === "edge") {
            var l = money[p.data.source + "\u0000" + p.data.target] || p.data;
            var text = escape(l.source) + " → " + escape(l.target) + "<br>" + escape(l.money);
            if (l.activities !== undefined) {
              text += "<br>" + escape(l.activities) + " / " + escape(l.person_times);
            }
            return text;
          }
          return escape(p.name);
        }
      },
      series: [{
        type: "sankey",
        left: 8, top: 8, bottom: 8, right: narrow ? 64 : 200,
        nodeWidth: 14,
        nodeGap: narrow ? 6 : 10,
        nodeAlign: "left",
        layoutIterations: 32,
        draggable: false,
        emphasis: { focus: "adjacency" },
        data: spec.nodes.map(function (n) {
          var node = { name: n.name, depth: n.depth, itemStyle: { color: COLOURS[n.kind] || "#52606d" } };
          if (n.depth < 2) {  // labels over the bands: dark text on the light bands
            node.label = { overflow: "truncate", width: narrow ? 90 : 260, fontWeight: 600 };
          } else {
            node.label = { overflow: "truncate", width: narrow ? 56 : 190 };
          }
          return node;
        }),
        links: spec.links.map(function (l) {
          return { source: l.source, target: l.target, value: l.value };
        }),
        lineStyle: { color: "gradient", opacity: 0.35, curveness: 0.5 },
        label: { fontSize: narrow ? 10 : 12, color: "#1f2933" }
      }]
    };
  };
})();
