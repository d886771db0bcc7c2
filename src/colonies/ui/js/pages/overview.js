// Colony overview: processes and workflows by state, throughput, executors online, pause.

import { processEvents } from "../colony.js";
import { STATES, add, ago, button, fill, h, isSet, notice, section, table } from "../dom.js";
import { poll, throttle } from "../live.js";
import { session } from "../session.js";

const ONLINE_SECONDS = 60;
const PROCESS_KEYS = [
  "waitingprocesses",
  "runningprocesses",
  "successfulprocesses",
  "failedprocesses",
  "cancelledprocesses",
];
const WORKFLOW_KEYS = [
  "waitingworkflows",
  "runningworkflows",
  "successfulworkflows",
  "failedworkflows",
  "cancelledworkflows",
];

function counters(stats, keys, link) {
  return h(
    "div",
    { class: "counters" },
    keys.map((key, state) =>
      h(
        "a",
        { class: `counter state-${STATES[state]}`, href: `#/${link}?state=${state}`, dataset: { key } },
        h("span", { class: "count" }, String(stats[key] ?? 0)),
        h("span", { class: "label" }, STATES[state]),
      ),
    ),
  );
}

export default {
  title: "Overview",
  nav: "Overview",
  render(view) {
    const report = notice();
    const statsBox = h("div", { id: "stats" }, h("p", { class: "empty" }, "Loading…"));
    const throughputBox = h("p", { id: "throughput", class: "big" }, "…");
    const executorsBox = h("div", { id: "online" });
    const pauseBox = h("div", { id: "pause" });
    add(view, 
      h("h1", null, `Colony ${session.colony}`),
      report,
      section("Processes", statsBox),
      h(
        "div",
        { class: "columns" },
        section(
          "Throughput",
          throughputBox,
          h("p", { class: "hint" }, "Processes that finished (successfully or not) in the last minute."),
        ),
        section("Assignments", pauseBox),
      ),
      section("Executors online", executorsBox),
    );
    if (!session.can("getcolonystatsmsg")) {
      fill(statsBox, 
        h("p", { class: "notice" }, "Counts need a colony member's key: add one on the Keys page."),
      );
      return null;
    }

    const loadStats = async () => {
      const stats = await session.call("getcolonystatsmsg", { colonyname: session.colony });
      fill(
        statsBox,
        counters(stats, PROCESS_KEYS, "processes"),
        h("h3", null, "Workflows"),
        counters(stats, WORKFLOW_KEYS, "workflows"),
      );
    };
    // Finished in the last minute, from the newest finished processes (the lists are newest
    // first and at most 100 long, so a busier minute shows as "at least").
    const loadThroughput = async () => {
      const lists = await Promise.all(
        [2, 3].map((state) =>
          session.call("getprocessesmsg", { colonyname: session.colony, state, count: 100 }),
        ),
      );
      const since = Date.now() - 60000;
      const recent = lists.map((list) => list.filter((p) => isSet(p.endtime) && new Date(p.endtime) >= since));
      const full = lists.some((list, i) => list.length === 100 && recent[i].length === 100);
      const count = recent[0].length + recent[1].length;
      throughputBox.textContent = `${full ? "≥ " : ""}${count} / min`;
    };
    const refresh = throttle(() => loadStats().catch((err) => report.show(err)), 1000);

    const loadExecutors = async () => {
      const list = await session.call("getexecutorsmsg", { colonyname: session.colony });
      const online = list.filter(
        (e) =>
          e.state === 1 &&
          isSet(e.lastheardfromtime) &&
          Date.now() - new Date(e.lastheardfromtime) < ONLINE_SECONDS * 1000,
      );
      fill(executorsBox, 
        h(
          "p",
          { class: "big" },
          `${online.length} online of ${list.filter((e) => e.state === 1).length} approved`,
        ),
        table(
          [
            ["Name", (e) => e.executorname],
            ["Type", (e) => e.executortype],
            ["Location", (e) => e.locationname || "—"],
            ["Last heard", (e) => ago(e.lastheardfromtime)],
          ],
          online,
          { empty: `No executor heard from in the last ${ONLINE_SECONDS} s.` },
        ),
      );
      await loadThroughput();
      return true;
    };

    const loadPause = async () => {
      const status = await session.call("getpausestatusmsg", { colonyname: session.colony });
      const paused = Boolean(status.ispaused ?? status.paused);
      const toggle = paused ? "resumeassignmentsmsg" : "pauseassignmentsmsg";
      fill(pauseBox, 
        h("p", { class: "big", id: "pause-state" }, paused ? "paused" : "running"),
        button(
          paused ? "Resume assignments" : "Pause assignments",
          async () => {
            await session.call(toggle, { colonyname: session.colony });
            await loadPause();
          },
          {
            report,
            disabled: !session.can(toggle),
            title: session.can(toggle) ? null : "needs the colony owner's key",
          },
        ),
      );
    };
    loadPause().catch((err) => report.show(err));

    const events = processEvents({
      onProcess: refresh,
      onOpen: refresh,
      onError: (err) => report.show(err),
    });
    const poller = poll(loadExecutors, { min: 5000, max: 30000 });
    return () => {
      events.close();
      poller.close();
    };
  },
};
