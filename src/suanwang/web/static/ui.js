// DOM helpers and number formatting shared by every page. Text goes in as text (never innerHTML).

/** h("div.panel#x", {attr: v, onclick: fn}, child, "text", [more]) -> HTMLElement */
export function h(tag, attrs, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || "div");
  for (const part of rest) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
  } else if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Replace the children of ``el``. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const nf = (digits) => new Intl.NumberFormat("en-US", { maximumFractionDigits: digits });

export function num(v, digits = 2) {
  if (v === undefined || v === null || v === "") return "–";
  const x = Number(v);
  return Number.isFinite(x) ? nf(digits).format(x) : String(v);
}

export function pct(v, digits = 1) {
  if (v === undefined || v === null) return "–";
  return `${num(100 * Number(v), digits)} %`;
}

/** Money arrives as a decimal string (exact); show it with 2-4 decimals, never via float math. */
export function money(v, currency = "") {
  if (v === undefined || v === null || v === "") return "–";
  const s = String(v);
  const [int, frac = ""] = s.split(".");
  const shown = (frac + "00").slice(0, Math.max(2, frac.replace(/0+$/, "").length));
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${grouped}.${shown}${currency ? " " + currency : ""}`;
}

export function duration(seconds) {
  if (seconds === undefined || seconds === null || !Number.isFinite(Number(seconds))) return "–";
  let s = Number(seconds);
  if (s < 60) return `${num(s, 1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400 * 2) return `${num(s / 3600, 1)} h`;
  s /= 86400;
  return s < 365 ? `${num(s, 1)} days` : `${num(s / 365, 2)} years`;
}

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium" });
}

export function badge(text, cls) {
  return h(cls ? `span.badge.${cls}` : "span.badge", { text });
}

export const stateBadge = (state) => badge(state || "?", `st-${state}`);

/** A table from column specs [{key|value, label, num, render}] and row objects. */
export function table(columns, data, { caption, onRow, testid, empty = "Nothing yet.", scroll } = {}) {
  if (!data.length) return h("p.empty", { "data-testid": testid }, empty);
  const head = h("tr", columns.map((c) => h(c.num ? "th.num" : "th", { scope: "col" }, c.label)));
  const body = data.map((row) => {
    const tr = h("tr", onRow ? { class: "clickable", onclick: () => onRow(row) } : null,
      columns.map((c) => {
        const v = c.value ? c.value(row) : row[c.key];
        const cell = c.render ? c.render(row) : (c.num ? num(v, c.digits ?? 2) : v ?? "–");
        return h(c.num ? "td.num" : "td", cell);
      }));
    return tr;
  });
  return h(scroll ? "div.table-wrap.table-scroll" : "div.table-wrap", h("table", { "data-testid": testid },
    caption ? h("caption", caption) : null, h("thead", head), h("tbody", body)));
}

export function kpi(label, value, sub) {
  return h("div.panel.kpi", h("div.label", label), h("div.value", value),
    sub ? h("div.sub", sub) : null);
}

export function pageHead(title, subtitle, ...actions) {
  return h("div.page-head", h("div", h("h1", title), subtitle ? h("p.muted", subtitle) : null),
    actions.length ? h("div.row", actions) : null);
}

export function errorBox(err) {
  return h("p.error", { role: "alert" }, err && err.message ? err.message : String(err));
}
