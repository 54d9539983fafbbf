// Home: analytics section. Chart.js is loaded only once the section scrolls into view:
// the section's data-chartjs-src names the vendored file, and each canvas's
// data-series-url the JSON series it draws. Colours come from the --chart-* tokens of
// portal.css and static/css/home/analytics.css, and the charts are drawn again on
// "portal:theme".
(function () {
  "use strict";

  var STATUS_POINT = { ok: "circle", warn: "triangle", fail: "crossRot" };
  var charts = {};
  var seriesByChart = {};
  var libraryPromise = null;

  function cssColor(name) {
    if (window.Portal && window.Portal.cssColor) return window.Portal.cssColor(name);
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function palette() {
    return {
      series: [1, 2, 3, 4, 5].map(function (index) { return cssColor("--chart-" + index); }),
      ok: cssColor("--chart-ok"),
      warn: cssColor("--chart-warn"),
      fail: cssColor("--chart-fail"),
      grid: cssColor("--chart-grid"),
      text: cssColor("--chart-text"),
    };
  }

  var moneyFormat = new Intl.NumberFormat(undefined, {
    minimumFractionDigits: 2, maximumFractionDigits: 2,
  });
  var countFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

  function money(value) { return moneyFormat.format(Number(value)); }

  function dayLabel(isoDate) {
    // A date-time without an offset is local time. Noon exists on every day, unlike a
    // midnight that a daylight-saving change skips in some zones.
    var date = new Date(isoDate + "T12:00:00");
    return date.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" });
  }

  function libraryLoad(src) {
    if (window.Chart) return Promise.resolve(window.Chart);
    if (libraryPromise) return libraryPromise;
    libraryPromise = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.addEventListener("load", function () { resolve(window.Chart); });
      script.addEventListener("error", function () {
        libraryPromise = null;
        reject(new Error("The chart library could not be loaded."));
      });
      document.head.appendChild(script);
    });
    return libraryPromise;
  }

  function seriesFetch(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            throw new Error(body.message || "The server returned status " + response.status + ".");
          }
          return body;
        });
      });
  }

  function axisTitle(text) {
    return { display: true, text: text };
  }

  function moneyTooltip(context) {
    return context.dataset.label + ": " + money(context.parsed.y);
  }

  function countTooltip(context) {
    return context.dataset.label + ": " + countFormat.format(context.parsed.y);
  }

  // Amount as bars on the left axis, number of sales as a line on the right axis.
  function salesByHourConfig(series, colors) {
    return {
      type: "bar",
      data: {
        labels: series.hours.map(function (hour) { return hour.label; }),
        datasets: [
          {
            label: "Amount", yAxisID: "y", order: 2, backgroundColor: colors.series[0],
            data: series.hours.map(function (hour) { return Number(hour.amount); }),
            tooltip: { callbacks: { label: moneyTooltip } },
          },
          {
            type: "line", label: "Sales", yAxisID: "count", order: 1,
            borderColor: colors.series[1], backgroundColor: colors.series[1],
            pointStyle: "rectRot", pointRadius: 3, tension: 0,
            data: series.hours.map(function (hour) { return hour.count; }),
            tooltip: { callbacks: { label: countTooltip } },
          },
        ],
      },
      options: {
        scales: {
          x: { title: axisTitle("Hour (" + series.time_zone + ")") },
          y: { beginAtZero: true, title: axisTitle("Amount") },
          count: {
            position: "right", beginAtZero: true, title: axisTitle("Number of sales"),
            ticks: { precision: 0 }, grid: { drawOnChartArea: false },
          },
        },
      },
    };
  }

  function salesTrendConfig(series, colors) {
    return {
      type: "line",
      data: {
        labels: series.days.map(function (day) { return dayLabel(day.date); }),
        datasets: [
          {
            label: "Amount", yAxisID: "y", borderColor: colors.series[0],
            backgroundColor: colors.series[0], pointRadius: 4, tension: 0,
            data: series.days.map(function (day) { return Number(day.amount); }),
            tooltip: { callbacks: { label: moneyTooltip } },
          },
          {
            label: "Sales", yAxisID: "count", borderColor: colors.series[1],
            backgroundColor: colors.series[1], borderDash: [6, 4], pointStyle: "rectRot",
            pointRadius: 4, tension: 0,
            data: series.days.map(function (day) { return day.count; }),
            tooltip: { callbacks: { label: countTooltip } },
          },
        ],
      },
      options: {
        scales: {
          x: { title: axisTitle("Day") },
          y: { beginAtZero: true, title: axisTitle("Amount") },
          count: {
            position: "right", beginAtZero: true, title: axisTitle("Number of sales"),
            ticks: { precision: 0 }, grid: { drawOnChartArea: false },
          },
        },
      },
    };
  }

  // Horizontal bars, since the kind names are long.
  function stockMovementsConfig(series, colors) {
    function unitsTooltip(context) {
      return context.dataset.label + ": " + countFormat.format(context.parsed.x) + " units";
    }
    return {
      type: "bar",
      data: {
        labels: series.kinds.map(function (kind) { return kind.label; }),
        datasets: [
          {
            label: "In", backgroundColor: colors.series[2],
            data: series.kinds.map(function (kind) { return kind.quantity_in; }),
          },
          {
            label: "Out", backgroundColor: colors.series[3],
            data: series.kinds.map(function (kind) { return kind.quantity_out; }),
          },
        ],
      },
      options: {
        indexAxis: "y",
        plugins: { tooltip: { callbacks: { label: unitsTooltip } } },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 }, title: axisTitle("On-hand units") },
          y: { title: axisTitle("Movement kind") },
        },
      },
    };
  }

  // Recorded sales are bars and the counted amount is a point whose shape and colour give the
  // reconciliation status. The tooltip names the status in words.
  function settlementVsSalesConfig(series, colors) {
    var days = series.days;

    function statusOf(context) {
      var day = context.dataIndex === undefined ? null : days[context.dataIndex];
      return day && day.status;
    }

    function statusColor(context) {
      return colors[statusOf(context)] || colors.text;
    }

    function countedTooltip(context) {
      var day = days[context.dataIndex];
      var difference = Number(day.difference);
      var sign = difference > 0 ? "+" : "";
      return [
        "Counted: " + money(day.counted),
        "Status: " + day.status_label + " (difference " + sign + money(difference) + ")",
      ];
    }

    return {
      type: "bar",
      data: {
        labels: days.map(function (day) { return dayLabel(day.date); }),
        datasets: [
          {
            label: "Recorded sales", order: 2, backgroundColor: colors.series[0],
            data: days.map(function (day) { return Number(day.sales); }),
            tooltip: { callbacks: { label: moneyTooltip } },
          },
          {
            type: "line", label: "Counted", order: 1, showLine: false,
            borderColor: colors.text, backgroundColor: colors.text,
            pointRadius: 7, pointHoverRadius: 9, pointBorderWidth: 2,
            pointStyle: function (context) { return STATUS_POINT[statusOf(context)] || "circle"; },
            pointBackgroundColor: statusColor,
            pointBorderColor: statusColor,
            data: days.map(function (day) {
              return day.counted === null ? null : Number(day.counted);
            }),
            tooltip: { callbacks: { label: countedTooltip } },
          },
        ],
      },
      options: {
        scales: {
          x: { title: axisTitle("Day") },
          y: { beginAtZero: true, title: axisTitle("Amount") },
        },
      },
    };
  }

  var BUILDERS = {
    "sales-by-hour": salesByHourConfig,
    "sales-trend": salesTrendConfig,
    "stock-movements": stockMovementsConfig,
    "settlement-vs-sales": settlementVsSalesConfig,
  };

  function frameState(canvas, state, text) {
    var frame = canvas.closest("[data-chart-frame]");
    if (!frame) return;
    frame.setAttribute("data-state", state);
    var note = frame.querySelector("[data-chart-state]");
    if (note && text) note.textContent = text;
  }

  function chartDraw(canvas) {
    var key = canvas.getAttribute("data-chart");
    var series = seriesByChart[key];
    if (!series || !window.Chart) return;
    if (charts[key]) charts[key].destroy();

    var colors = palette();
    var config = BUILDERS[key](series, colors);
    var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    config.options.responsive = true;
    config.options.maintainAspectRatio = false;
    config.options.animation = reducedMotion ? false : { duration: 300 };
    config.options.color = colors.text;
    config.options.borderColor = colors.grid;
    config.options.plugins = config.options.plugins || {};
    config.options.plugins.legend = {
      position: "bottom",
      labels: {
        usePointStyle: true, boxWidth: 10, boxHeight: 10, color: colors.text,
        sort: function (first, second) { return first.datasetIndex - second.datasetIndex; },
      },
    };
    Object.keys(config.options.scales).forEach(function (axis) {
      var scale = config.options.scales[axis];
      scale.ticks = Object.assign({ color: colors.text }, scale.ticks);
      scale.grid = Object.assign({ color: colors.grid }, scale.grid);
      scale.border = { color: colors.grid };
      if (scale.title) scale.title.color = colors.text;
    });
    charts[key] = new window.Chart(canvas, config);
    frameState(canvas, "ready");
  }

  function chartLoad(canvas) {
    var key = canvas.getAttribute("data-chart");
    return seriesFetch(canvas.getAttribute("data-series-url"))
      .then(function (series) {
        seriesByChart[key] = series;
        chartDraw(canvas);
      })
      .catch(function (error) {
        frameState(canvas, "error", "The chart could not be drawn. " + error.message +
          " The table of this chart has the figures.");
      });
  }

  function sectionLoad(section) {
    var canvases = Array.prototype.slice.call(section.querySelectorAll("canvas[data-chart]"));
    section.setAttribute("data-analytics-state", "loading");
    canvases.forEach(function (canvas) { frameState(canvas, "loading", "Loading chart\u2026"); });
    libraryLoad(section.getAttribute("data-chartjs-src"))
      .then(function () { return Promise.all(canvases.map(chartLoad)); })
      .catch(function (error) {
        canvases.forEach(function (canvas) {
          frameState(canvas, "error", error.message + " The table of each chart has the figures.");
        });
      })
      .then(function () { section.setAttribute("data-analytics-state", "done"); });
  }

  function sectionWatch() {
    var section = document.getElementById("analytics");
    if (!section || !section.hasAttribute("data-chartjs-src")) return;
    section.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      frameState(canvas, "waiting", "Loading chart\u2026");
    });
    if (!("IntersectionObserver" in window)) {
      sectionLoad(section);
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      if (!entries.some(function (entry) { return entry.isIntersecting; })) return;
      observer.disconnect();
      sectionLoad(section);
    });
    observer.observe(section);
  }

  document.addEventListener("portal:theme", function () {
    var section = document.getElementById("analytics");
    if (!section) return;
    section.querySelectorAll("canvas[data-chart]").forEach(chartDraw);
  });

  // The section arrives from the server (htmx) when it first scrolls into view.
  document.addEventListener("htmx:load", function (event) {
    if (event.detail && event.detail.elt && event.detail.elt.id === "analytics") sectionWatch();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", sectionWatch);
  } else {
    sectionWatch();
  }
})();
