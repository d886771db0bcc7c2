// Workflows (process graphs) by state; they change as their processes do, so the list reloads
// on the colony's process events.

import { processEvents } from "../colony.js";
import { STATES, add, between, fill, formatDuration, formatTime, h, notice, shortId, stateBadge, table } from "../dom.js";
import { throttle } from "../live.js";
import { session } from "../session.js";

export default {
  title: "Workflows",
  nav: "Workflows",
  render(view, { query }) {
    const state = Math.min(Math.max(Number(query.get("state") ?? 1) || 0, 0), 4);
    const report = notice();
    const listBox = h("div", { id: "workflow-list" }, h("p", { class: "empty" }, "Loading…"));
    add(view, 
      h("h1", null, "Workflows"),
      h(
        "nav",
        { class: "tabs" },
        STATES.map((name, s) =>
          h("a", { href: `#/workflows?state=${s}`, class: s === state ? "active" : null }, name),
        ),
      ),
      h("p", null, h("a", { href: "#/submit?kind=workflow" }, "Submit a workflow")),
      report,
      listBox,
    );
    const load = async () => {
      const graphs = await session.call("getprocessgraphsmsg", {
        colonyname: session.colony,
        state,
        count: 100,
      });
      fill(listBox, 
        table(
          [
            ["ID", (g) => h("a", { href: `#/workflow/${g.processgraphid}`, class: "mono" }, shortId(g.processgraphid))],
            ["Steps", (g) => (g.nodes || []).map((n) => n.data?.label).filter(Boolean).join(" → ") || String(g.processids.length)],
            ["Initiator", (g) => g.initiatorname || "—"],
            ["Submitted", (g) => formatTime(g.submissiontime)],
            ["Ran", (g) => formatDuration(between(g.starttime, g.endtime))],
            ["State", (g) => stateBadge(g.state)],
          ],
          graphs,
          { empty: `No ${STATES[state]} workflows.`, rowProps: (g) => ({ dataset: { graphid: g.processgraphid } }) },
        ),
      );
    };
    const reload = throttle(() => load().catch((err) => report.show(err)), 1000);
    load().catch((err) => report.show(err));
    const events = processEvents({
      onProcess: (p) => p.processgraphid && reload(),
      onError: (err) => report.show(err),
    });
    return () => events.close();
  },
};
