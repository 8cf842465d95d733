// Charts are drawn by plotly.js (served from the installed plotly wheel, window.Plotly).
// Every chart comes with the table it was drawn from, as its text alternative.

import { h, table } from "./ui.js";

const FONT = { family: "Inter, Segoe UI, system-ui, sans-serif", size: 12, color: "#17202c" };
const CONFIG = { displaylogo: false, responsive: true, displayModeBar: "hover",
  modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };

/** An axis: light grid; a string title becomes {text} (plotly.js 3 takes titles as objects). */
function axis(spec = {}) {
  const title = typeof spec.title === "string" ? { text: spec.title, standoff: 8 } : spec.title;
  return { gridcolor: "#eef1f5", zeroline: false, automargin: true, ...spec, title };
}

export function layout(extra = {}) {
  return {
    font: FONT, margin: { l: 56, r: 16, t: 36, b: 48 }, paper_bgcolor: "#fff",
    plot_bgcolor: "#fff", hovermode: "closest",
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    xaxis: axis(extra.xaxis),
    yaxis: axis(extra.yaxis),
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "xaxis" && k !== "yaxis")),
  };
}

/**
 * A figure: heading, plot div and a <details> with the data table.
 * ``columns``/``rows`` describe the table; returns {el, plot(traces, layout), update(rows)}.
 */
export function figure({ title, testid, columns, rows = [], height = 320, summary,
  empty = "No data yet." }) {
  const plotEl = h("div.chart", { "data-testid": testid, role: "img", "aria-label": title,
    style: `height:${height}px` });
  const emptyEl = h("p.empty.chart-empty", { style: `height:${height}px` }, empty);
  plotEl.hidden = true;
  const alt = h("div");
  const details = h("details.alt", h("summary", summary || "Data table (text alternative)"), alt);
  const el = h("div.figure", title ? h("h2", title) : null, plotEl, emptyEl, details);
  let drawn = false;
  const api = {
    el,
    plotEl,
    plot(traces, lay) {
      if (!window.Plotly) {
        plotEl.textContent = "plotly.js did not load; see the data table below.";
        return;
      }
      const points = traces.reduce((n, t) => n + ((t.x || t.z || []).length), 0);
      plotEl.hidden = points === 0;
      emptyEl.hidden = points > 0;
      if (!points) return;
      const l = layout({ height, ...lay });
      if (drawn) window.Plotly.react(plotEl, traces, l, CONFIG);
      else window.Plotly.newPlot(plotEl, traces, l, CONFIG);
      drawn = true;
    },
    table(data) {
      alt.replaceChildren(table(columns, data, { testid: testid ? `${testid}-table` : undefined }));
    },
  };
  api.table(rows);
  return api;
}

/** Points currently drawn in a plot (used by tests through the DOM, and by pages). */
export function pointCount(plotEl) {
  return (plotEl.data || []).reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
}

export const PALETTE = ["#1f5fbf", "#d9822b", "#1c7c54", "#8e44ad", "#c0392b", "#16a2b8",
  "#7f8c8d", "#b7950b"];
