// One workflow: its DAG drawn as SVG from the graph's nodes and edges, each node coloured by its
// process's state, the failed steps' errors, and the members. Reloads on its processes' events.

import { processEvents } from "../colony.js";
import { STATES, add, between, button, facts, fill, formatDuration, formatTime, h, notice, s, section, shortId, stateBadge, table } from "../dom.js";
import { throttle } from "../live.js";
import { session } from "../session.js";

const NODE_W = 170;
const NODE_H = 46;
const GAP_X = 40;
const GAP_Y = 60;
const MAX_MEMBERS = 200; // members fetched one by one for their states and errors

/** Rows by depth (longest path from a root), from the edges alone. */
function layers(ids, edges) {
  const parents = new Map(ids.map((id) => [id, []]));
  for (const e of edges) if (parents.has(e.target) && parents.has(e.source)) parents.get(e.target).push(e.source);
  const depth = new Map();
  const depthOf = (id, guard = 0) => {
    if (depth.has(id)) return depth.get(id);
    const ps = parents.get(id) || [];
    const d = ps.length && guard <= ids.length ? 1 + Math.max(...ps.map((p) => depthOf(p, guard + 1))) : 0;
    depth.set(id, d);
    return d;
  };
  const rows = [];
  for (const id of ids) {
    const d = depthOf(id);
    (rows[d] ||= []).push(id);
  }
  return rows.filter(Boolean);
}

export function drawDag(graph, members) {
  const ids = (graph.nodes || []).map((n) => n.id);
  const labels = new Map((graph.nodes || []).map((n) => [n.id, n.data?.label || ""]));
  const rows = layers(ids, graph.edges || []);
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = widest * (NODE_W + GAP_X) + GAP_X;
  const height = rows.length * (NODE_H + GAP_Y) + GAP_Y / 2;
  const at = new Map();
  rows.forEach((row, d) => {
    const offset = (width - row.length * (NODE_W + GAP_X) + GAP_X) / 2;
    row.forEach((id, i) => at.set(id, { x: offset + i * (NODE_W + GAP_X), y: GAP_Y / 2 + d * (NODE_H + GAP_Y) }));
  });
  const svg = s("svg", {
    class: "dag",
    id: "dag",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": "workflow graph",
    height: Math.min(height, 900),
  });
  svg.append(
    s("defs", null, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z" }))),
  );
  for (const e of graph.edges || []) {
    const a = at.get(e.source);
    const b = at.get(e.target);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W / 2;
    const y1 = a.y + NODE_H;
    const x2 = b.x + NODE_W / 2;
    const y2 = b.y;
    const my = (y1 + y2) / 2;
    const running = members.get(e.source)?.state === 1;
    svg.append(s("path", { class: running ? "edge active" : "edge", d: `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`, "marker-end": "url(#arrow)" }));
  }
  for (const id of ids) {
    const p = members.get(id);
    const state = p ? STATES[p.state] : "unknown";
    const { x, y } = at.get(id);
    const label = labels.get(id) || p?.spec?.nodename || p?.spec?.funcname || shortId(id);
    const node = s(
      "g",
      { class: `node state-${state}`, transform: `translate(${x},${y})`, "data-processid": id, "data-state": state },
      s("title", null, `${label}: ${state}`),
      s("rect", { width: NODE_W, height: NODE_H, rx: 8 }),
      s("text", { x: NODE_W / 2, y: NODE_H / 2 - 7 }, label.length > 22 ? label.slice(0, 21) + "…" : label),
      s("text", { x: NODE_W / 2, y: NODE_H / 2 + 10, class: "node-state" }, state),
    );
    node.addEventListener("click", () => (location.hash = `#/process/${id}`));
    svg.append(node);
  }
  return svg;
}

export default {
  title: "Workflow",
  render(view, { args, go }) {
    const graphid = args[0] || "";
    const report = notice();
    add(view, h("p", { class: "empty" }, "Loading…"));
    let stopped = false;
    const load = async () => {
      let graph;
      try {
        graph = await session.call("getprocessgraphmsg", { processgraphid: graphid });
      } catch (err) {
        fill(view, h("h1", null, "Workflow"), h("p", { class: "notice error" }, err.message));
        return;
      }
      const ids = (graph.processids || []).slice(0, MAX_MEMBERS);
      const fetched = await Promise.all(
        ids.map((processid) => session.call("getprocessmsg", { processid }).catch(() => null)),
      );
      if (stopped) return;
      const members = new Map(fetched.filter(Boolean).map((p) => [p.processid, p]));
      const failed = [...members.values()].filter((p) => p.state === 3);
      fill(view, 
        h("h1", null, "Workflow ", h("span", { class: "mono" }, graph.processgraphid), " ", h("span", { id: "workflow-state" }, stateBadge(graph.state))),
        h(
          "div",
          { class: "row" },
          button("Cancel", async () => {
            await session.call("cancelprocessgraphmsg", { processgraphid: graphid });
            await load();
          }, { report, kind: "small", disabled: graph.state >= 2 }),
          button("Remove", async () => {
            await session.call("removeprocessgraphmsg", { processgraphid: graphid, all: false });
            go("#/workflows");
          }, { report, kind: "small danger", disabled: graph.state === 1 }),
        ),
        report,
        failed.length
          ? section(
              "Errors",
              h(
                "ul",
                { class: "errors", id: "workflow-errors" },
                failed.map((p) => h("li", null, `${p.spec?.nodename || p.spec?.funcname}: ${(p.errors || []).join("; ") || "failed"}`)),
              ),
            )
          : null,
        section("Graph", drawDag(graph, members)),
        h(
          "div",
          { class: "columns" },
          section(
            "Workflow",
            facts([
              ["Colony", graph.colonyname],
              ["Initiator", graph.initiatorname || "—"],
              ["Submitted", formatTime(graph.submissiontime)],
              ["Started", formatTime(graph.starttime)],
              ["Ended", formatTime(graph.endtime)],
              ["Ran", formatDuration(between(graph.starttime, graph.endtime))],
            ]),
          ),
        ),
        section(
          "Steps",
          table(
            [
              ["Node", (p) => h("a", { href: `#/process/${p.processid}` }, p.spec?.nodename || shortId(p.processid))],
              ["Function", (p) => p.spec?.funcname || "—"],
              ["State", (p) => stateBadge(p.state)],
              ["Started", (p) => formatTime(p.starttime)],
              ["Ran", (p) => formatDuration(between(p.starttime, p.endtime))],
              ["Errors", (p) => h("span", { class: "error-text" }, (p.errors || []).join("; "))],
            ],
            [...members.values()],
          ),
        ),
      );
    };
    const reload = throttle(() => load().catch((err) => report.show(err)), 750);
    load();
    const events = processEvents({
      onProcess: (p) => p.processgraphid === graphid && reload(),
      onError: (err) => report.show(err),
    });
    return () => {
      stopped = true;
      events.close();
    };
  },
};
