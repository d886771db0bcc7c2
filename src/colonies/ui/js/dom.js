// DOM building without HTML strings: every server value becomes a text node or an attribute
// value set through the DOM. (The page's Trusted Types policy makes every HTML-from-a-string sink throw.)

import { toJson } from "./rpc.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function apply(el, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "value" || name === "checked" || name === "disabled" || name === "selected")
      el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  return el;
}

/** Append children (nodes, text, nested lists; null and false are skipped). */
export function add(el, ...children) {
  return append(el, children);
}

/** Replace an element's children (as `add`). */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** h("a", {href: "#/x", class: "c"}, "text", child, ...): an HTML element. */
export function h(tag, props, ...children) {
  return append(apply(document.createElement(tag), props), children);
}

/** s("rect", {x: 1}): an SVG element. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined) continue;
    if (name === "class") el.setAttribute("class", value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, String(value));
  }
  return append(el, children);
}

export const STATES = ["waiting", "running", "successful", "failed", "cancelled"];
export const EXECUTOR_STATES = ["pending", "approved", "rejected", "unregistered"];

export function stateBadge(state, names = STATES) {
  const name = names[state] ?? `state ${state}`;
  return h("span", { class: `badge state-${name}`, dataset: { state: String(state) } }, name);
}

const ZERO = "0001-01-01T00:00:00Z";

export function isSet(time) {
  return Boolean(time) && time !== ZERO && !String(time).startsWith("0001-");
}

export function formatTime(time) {
  if (!isSet(time)) return "—";
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return String(time);
  return date.toLocaleString(undefined, { hour12: false });
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

export function between(start, end) {
  if (!isSet(start)) return NaN;
  const until = isSet(end) ? new Date(end) : new Date();
  return (until - new Date(start)) / 1000;
}

export function ago(time) {
  if (!isSet(time)) return "never";
  return `${formatDuration(between(time, null))} ago`;
}

export function shortId(id) {
  return id ? `${String(id).slice(0, 12)}…` : "—";
}

/** Pretty JSON as text, in a <pre>. */
export function jsonBlock(value, props = {}) {
  return h("pre", { class: "json", ...props }, toJson(value, 2));
}

/** A table from rows; columns are [heading, (row) => cell content]. */
export function table(columns, rows, { empty = "Nothing here.", rowProps } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    { class: "grid" },
    h("thead", null, h("tr", null, columns.map(([title]) => h("th", null, title)))),
    h(
      "tbody",
      null,
      rows.map((row) =>
        h("tr", rowProps ? rowProps(row) : null, columns.map(([, cell]) => h("td", null, cell(row)))),
      ),
    ),
  );
}

/** A definition list from [label, value] pairs. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([label, value]) => [h("dt", null, label), h("dd", null, value)]),
  );
}

export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", null, title), ...children);
}

/** An area for an operation's outcome; `show(err)` / `ok(text)`. */
export function notice() {
  const el = h("p", { class: "notice", role: "status", hidden: true });
  el.show = (err) => {
    el.hidden = false;
    el.className = "notice error";
    el.textContent = err instanceof Error ? err.message : String(err);
  };
  el.ok = (text) => {
    el.hidden = false;
    el.className = "notice ok";
    el.textContent = text;
  };
  el.clear = () => {
    el.hidden = true;
    el.textContent = "";
  };
  return el;
}

/** A button that runs `action`, disabled while it runs; errors go to `report`. */
export function button(label, action, { report, title, disabled, kind } = {}) {
  const el = h("button", { type: "button", class: kind ? `btn ${kind}` : "btn", title, disabled });
  el.textContent = label;
  el.addEventListener("click", async () => {
    el.disabled = true;
    try {
      await action();
    } catch (err) {
      if (report) report.show(err);
      else console.error(err);
    } finally {
      el.disabled = Boolean(disabled);
    }
  });
  return el;
}
