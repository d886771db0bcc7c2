// Executors: state, location, last heard; approve, reject and remove with the colony owner's
// key. The protocol pushes no executor events, so the list is polled (with back-off).

import { EXECUTOR_STATES, add, ago, button, fill, formatDuration, formatTime, h, notice, section, shortId, stateBadge, table } from "../dom.js";
import { poll } from "../live.js";
import { session } from "../session.js";

export default {
  title: "Executors",
  nav: "Executors",
  render(view) {
    const report = notice();
    const listBox = h("div", { id: "executor-list" }, h("p", { class: "empty" }, "Loading…"));
    const functionsBox = h("div", { id: "function-list" });
    const locationsBox = h("div", { id: "location-list" });
    const owner = session.can("approveexecutormsg");
    add(view, 
      h("h1", null, "Executors"),
      owner
        ? null
        : h("p", { class: "hint" }, "Approving, rejecting and removing need the colony owner's key (Keys page)."),
      report,
      section("Executors", listBox),
      h("div", { class: "columns" }, section("Functions", functionsBox), section("Locations", locationsBox)),
    );
    const act = (type, e, verb) =>
      button(
        verb,
        async () => {
          await session.call(type, { colonyname: session.colony, executorname: e.executorname });
          report.ok(`${verb}: ${e.executorname}.`);
          poller.now();
        },
        {
          report,
          kind: type === "removeexecutormsg" ? "small danger" : "small",
          disabled: !owner,
          title: owner ? null : "needs the colony owner's key",
        },
      );
    let last = "";
    const load = async () => {
      const [executors, functions, locations] = await Promise.all([
        session.call("getexecutorsmsg", { colonyname: session.colony }),
        session.can("getfunctionsmsg")
          ? session.call("getfunctionsmsg", { colonyname: session.colony, executorname: "" }).catch(() => [])
          : [],
        session.call("getlocationsmsg", { colonyname: session.colony }).catch(() => []),
      ]);
      const snapshot = JSON.stringify([executors, functions, locations]);
      const changed = snapshot !== last;
      last = snapshot;
      fill(listBox, 
        table(
          [
            ["Name", (e) => e.executorname],
            ["Type", (e) => e.executortype],
            ["State", (e) => stateBadge(e.state, EXECUTOR_STATES)],
            ["Location", (e) => e.locationname || "—"],
            ["Last heard", (e) => ago(e.lastheardfromtime)],
            ["Commissioned", (e) => formatTime(e.commissiontime)],
            ["ID", (e) => h("code", { title: e.executorid }, shortId(e.executorid))],
            [
              "",
              (e) =>
                h(
                  "span",
                  { class: "actions" },
                  e.state !== 1 ? act("approveexecutormsg", e, "Approve") : null,
                  e.state !== 2 ? act("rejectexecutormsg", e, "Reject") : null,
                  act("removeexecutormsg", e, "Remove"),
                ),
            ],
          ],
          executors,
          { empty: "No executors registered.", rowProps: (e) => ({ dataset: { executor: e.executorname } }) },
        ),
      );
      fill(functionsBox, 
        table(
          [
            ["Function", (f) => f.funcname],
            ["Executor", (f) => f.executorname],
            ["Calls", (f) => String(f.counter)],
            ["Avg wait", (f) => formatDuration(f.avgwaittime)],
            ["Avg exec", (f) => formatDuration(f.avgexectime)],
          ],
          functions,
          { empty: "No functions registered." },
        ),
      );
      fill(locationsBox, 
        table(
          [
            ["Name", (l) => l.name],
            ["Description", (l) => l.description || "—"],
            ["Lat, long", (l) => `${l.lat}, ${l.long}`],
          ],
          locations,
          { empty: "No locations." },
        ),
      );
      return changed;
    };
    const poller = poll(() => load().catch((err) => { report.show(err); throw err; }), { min: 3000, max: 30000 });
    return () => poller.close();
  },
};
