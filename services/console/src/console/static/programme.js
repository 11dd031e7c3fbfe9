// The programme dashboard's charts. Each builder gets the data block the server rendered
// (the same figures as the table beside it) and answers an ECharts option.
(function () {
  "use strict";
  var charts = window.WusheCharts;
  if (!charts) return;

  var COLOURS = ["#0b5cab", "#1d7a46", "#a85d00"];
  var EXPECTED = "#52606d";
  // The map's bands, as the tables mark them: far behind, lagging, on track, ahead.
  var BANDS = { far_behind: "#b42318", lagging: "#f0a04b", on_track: "#9ec5e8", ahead: "#1d7a46" };

  function pct(v) { return v === null || v === undefined ? "—" : v + "%"; }

  // Percent done of each target, month by month, against the expected (time elapsed) line.
  charts["programme-months"] = function (spec) {
    var series = spec.series.map(function (s, i) {
      return { name: s.name, type: "line", data: s.values, symbolSize: 6,
        lineStyle: { width: 2 }, itemStyle: { color: COLOURS[i % COLOURS.length] } };
    });
    series.push({ name: spec.expected.name, type: "line", data: spec.expected.values,
      symbol: "none", lineStyle: { type: "dashed", width: 2, color: EXPECTED },
      itemStyle: { color: EXPECTED } });
    return {
      color: COLOURS.concat([EXPECTED]),
      tooltip: { trigger: "axis", valueFormatter: pct },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 40, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: spec.labels, boundaryGap: false },
      yAxis: { type: "value", min: 0, axisLabel: { formatter: "{value}%" } },
      series: series,
    };
  };

  // Pace of each measure per child (100% = as much as should be done by now).
  charts["programme-children"] = function (spec) {
    var labels = spec.labels.slice().reverse(); // slowest at the top
    var series = spec.series.map(function (s, i) {
      return { name: s.name, type: "bar", data: s.values.slice().reverse(),
        itemStyle: { color: COLOURS[i % COLOURS.length] },
        markLine: i === 0 ? { symbol: "none", silent: true, label: { formatter: "100%" },
          lineStyle: { color: EXPECTED, type: "dashed" }, data: [{ xAxis: 100 }] } : undefined };
    });
    var hrefs = spec.hrefs.slice().reverse();
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: pct },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 24, top: 48, bottom: 8, containLabel: true },
      xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: labels, triggerEvent: true,
        axisLabel: { width: 110, overflow: "truncate" } },
      series: series,
      __onClick: function (params) {
        var i = params.componentType === "yAxis" ? labels.indexOf(params.value) : params.dataIndex;
        if (i >= 0 && hrefs[i]) window.location.href = hrefs[i];
      },
    };
  };

  // The province's cities coloured by pace; the map's features are named in Chinese
  // (南昌市), matched to the cities by name, ignoring a trailing 市/地区/自治州.
  function bare(name) { return String(name || "").replace(/(市|地区|自治州|盟)$/, ""); }

  charts["programme-map"] = function (spec) {
    return fetch(spec.url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (geo) {
        echarts.registerMap(spec.map, geo);
        var byName = {};
        spec.regions.forEach(function (r) { byName[bare(r.name)] = r; });
        var data = geo.features.map(function (f) {
          var r = byName[bare(f.properties.name)];
          return { name: f.properties.name, value: r ? r.value : null, href: r ? r.href : null,
            label: r ? r.name : f.properties.name };
        });
        return {
          tooltip: { trigger: "item", formatter: function (p) {
            var v = p.data && p.data.value;
            return p.name + "<br>" + spec.label + "：" + pct(v);
          } },
          visualMap: { type: "piecewise", orient: "vertical", left: 0, bottom: 0,
            itemGap: 4, itemWidth: 14, itemHeight: 10, textStyle: { fontSize: 11 },
            pieces: spec.bands.map(function (b) {
              return { lt: b.lt, gte: b.gte, label: b.label, color: BANDS[b.key] };
            }),
            outOfRange: { color: "#d9e2ec" } },
          series: [{ type: "map", map: spec.map, roam: false, data: data,
            label: { show: true, fontSize: 10 },
            emphasis: { label: { show: true } }, selectedMode: false }],
          __onClick: function (params) {
            if (params.data && params.data.href) window.location.href = params.data.href;
          },
        };
      })
      .catch(function () { return null; }); // no map: the table carries the figures
  };
})();
