// Processes by state, with the server's filters (executor type, initiator, label), a text
// filter over what is shown, and live updates from the colony's process events.

import { processEvents } from "../colony.js";
import { STATES, add, between, button, fill, formatDuration, formatTime, h, notice, shortId, stateBadge, table } from "../dom.js";
import { throttle } from "../live.js";
import { session } from "../session.js";

const MAX_COUNT = 100; // the protocol's limit per list request
const STAT_KEYS = ["waiting", "running", "successful", "failed", "cancelled"].map(
  (s) => `${s}processes`,
);

/** The server's order for a state's list (docs/protocol.md §6.6). */
function ordering(state) {
  const num = (v) => (typeof v === "bigint" ? Number(v) : v || 0);
  if (state === 0) return (a, b) => num(a.prioritytime) - num(b.prioritytime);
  if (state === 1) return (a, b) => String(a.starttime).localeCompare(String(b.starttime));
  return (a, b) => String(b.endtime).localeCompare(String(a.endtime));
}

export function processActions(p, report, after) {
  const cancel =
    p.state === 0 || p.state === 1
      ? button(
          "Cancel",
          async () => {
            await session.call("cancelprocessmsg", { processid: p.processid });
            report.ok(`Cancelled ${shortId(p.processid)}.`);
            after?.();
          },
          { report, kind: "small", title: "cancel this process" },
        )
      : null;
  const remove =
    p.state !== 1 && !p.processgraphid
      ? button(
          "Remove",
          async () => {
            await session.call("removeprocessmsg", { processid: p.processid, all: false });
            report.ok(`Removed ${shortId(p.processid)}.`);
            after?.();
          },
          { report, kind: "small danger", title: "remove this process and its logs" },
        )
      : null;
  return h("span", { class: "actions" }, cancel, remove);
}

export default {
  title: "Processes",
  nav: "Processes",
  render(view, { query, go }) {
    const started = performance.now();
    const state = Math.min(Math.max(Number(query.get("state") ?? 0) || 0, 0), 4);
    const filters = {
      executortype: query.get("executortype") || "",
      initiator: query.get("initiator") || "",
      label: query.get("label") || "",
    };
    const report = notice();
    const tabs = h("nav", { class: "tabs", id: "state-tabs" });
    const listBox = h("div", { id: "process-list" }, h("p", { class: "empty" }, "Loading…"));
    const summary = h("p", { class: "hint", id: "list-summary" });
    const find = h("input", { id: "find", type: "search", placeholder: "find in the list (function, ID)" });
    const inputs = Object.fromEntries(
      Object.keys(filters).map((name) => [
        name,
        h("input", { name, value: filters[name], placeholder: name, autocomplete: "off" }),
      ]),
    );
    const apply = h("button", { type: "submit", class: "btn" }, "Apply");
    const form = h(
      "form",
      { class: "filters", id: "filters" },
      h("label", null, "Executor type", inputs.executortype),
      h("label", null, "Initiator (user name)", inputs.initiator),
      h("label", null, "Label", inputs.label),
      apply,
      h("label", null, "Find", find),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = new URLSearchParams({ state: String(state) });
      for (const [name, input] of Object.entries(inputs)) {
        if (input.value.trim()) params.set(name, input.value.trim());
      }
      go(`#/processes?${params}`);
    });
    const removeAll = button(
      `Remove all ${STATES[state]}`,
      async () => {
        if (!confirm(`Remove every ${STATES[state]} process of ${session.colony} that is not part of a workflow?`))
          return;
        await session.call("removeallprocessesmsg", { colonyname: session.colony, state });
        await load();
      },
      {
        report,
        kind: "danger",
        disabled: state === 1 || !session.can("removeallprocessesmsg"),
        title: session.can("removeallprocessesmsg") ? null : "needs the colony owner's key",
      },
    );
    add(view, 
      h("h1", null, "Processes"),
      tabs,
      form,
      h("p", { class: "hint" }, "The server applies one filter: executor type, else initiator, else label."),
      report,
      summary,
      listBox,
      h("div", { class: "row" }, removeAll),
    );

    let rows = [];
    let counts = null;
    const order = ordering(state);

    const drawTabs = () => {
      fill(tabs, 
        ...STATES.map((name, s) => {
          const params = new URLSearchParams(query);
          params.set("state", String(s));
          return h(
            "a",
            { href: `#/processes?${params}`, class: s === state ? "active" : null, dataset: { state: String(s) } },
            name,
            counts ? h("span", { class: "tab-count" }, String(counts[STAT_KEYS[s]] ?? 0)) : null,
          );
        }),
      );
    };

    const draw = () => {
      const needle = find.value.trim().toLowerCase();
      const shown = needle
        ? rows.filter((p) =>
            [p.processid, p.spec?.funcname, p.spec?.nodename, p.initiatorname]
              .some((v) => String(v || "").toLowerCase().includes(needle)),
          )
        : rows;
      const total = counts ? counts[STAT_KEYS[state]] : null;
      summary.textContent =
        `${shown.length} shown` +
        (total !== null && total > rows.length ? `; the server lists the first ${MAX_COUNT} of ${total}` : "");
      fill(listBox, 
        table(
          [
            ["ID", (p) => h("a", { href: `#/process/${p.processid}`, class: "mono" }, shortId(p.processid))],
            ["Function", (p) => p.spec?.funcname || "—"],
            ["Executor type", (p) => p.spec?.conditions?.executortype || "—"],
            ["Initiator", (p) => p.initiatorname || "—"],
            ["Priority", (p) => String(p.spec?.priority ?? 0)],
            ["Submitted", (p) => formatTime(p.submissiontime)],
            state === 0
              ? ["Waiting", (p) => formatDuration(between(p.submissiontime, null))]
              : ["Started", (p) => formatTime(p.starttime)],
            state >= 2 ? ["Ended", (p) => formatTime(p.endtime)] : ["Retries", (p) => String(p.retries)],
            state >= 2
              ? ["Ran", (p) => formatDuration(between(p.starttime, p.endtime))]
              : ["State", (p) => stateBadge(p.state)],
            state === 3 ? ["Error", (p) => h("span", { class: "error-text" }, (p.errors || []).join("; "))] : null,
            ["", (p) => processActions(p, report, load)],
          ].filter(Boolean),
          shown,
          {
            empty: `No ${STATES[state]} processes.`,
            rowProps: (p) => ({ dataset: { processid: p.processid } }),
          },
        ),
      );
    };
    find.addEventListener("input", draw);

    const loadCounts = async () => {
      counts = await session.call("getcolonystatsmsg", { colonyname: session.colony });
      drawTabs();
      draw();
    };

    let first = true;
    const load = async () => {
      rows = await session.call("getprocessesmsg", {
        colonyname: session.colony,
        state,
        count: MAX_COUNT,
        ...filters,
      });
      draw();
      if (first) {
        first = false;
        // For the load-time benchmark: from this page's start to its first full list.
        performance.mark("colonies:process-list", { detail: { ms: performance.now() - started } });
        listBox.dataset.loaded = "1";
      }
      await loadCounts();
    };
    drawTabs();

    const matches = (p) =>
      p.state === state &&
      (!filters.executortype || p.spec?.conditions?.executortype === filters.executortype) &&
      (filters.executortype || !filters.initiator || p.initiatorname === filters.initiator) &&
      (filters.executortype || filters.initiator || !filters.label || p.spec?.label === filters.label);
    const redraw = throttle(draw, 250);
    const recount = throttle(() => loadCounts().catch((err) => report.show(err)), 1000);

    load().catch((err) => report.show(err));
    let opened = 0;
    const events = processEvents({
      onProcess: (p) => {
        const at = rows.findIndex((r) => r.processid === p.processid);
        if (matches(p)) {
          if (at >= 0) rows[at] = p;
          else rows.push(p);
          rows.sort(order);
          if (rows.length > MAX_COUNT) rows.length = MAX_COUNT;
        } else if (at >= 0) {
          rows.splice(at, 1);
        }
        redraw();
        recount();
      },
      // Subscribed: load again, so nothing that changed before the subscription is missed.
      onOpen: () => {
        const again = () => load().catch((err) => report.show(err));
        if (opened++) again();
        else setTimeout(again, 1000);
      },
      onError: (err) => report.show(err),
    });
    return () => events.close();
  },
};
