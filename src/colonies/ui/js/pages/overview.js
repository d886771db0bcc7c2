// Colony overview: processes and workflows by state, throughput, executors online, pause.

import { processEvents } from "../colony.js";
import { STATES, add, ago, button, fill, formatDuration, h, isSet, notice, section, table } from "../dom.js";
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
    const throughputBox = h("p", { id: "throughput", class: "big" }, "measuring…");
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
          h("p", { class: "hint" }, "Processes finished per minute, measured while this page is open."),
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

    const samples = []; // [time ms, finished count]
    const loadStats = async () => {
      const stats = await session.call("getcolonystatsmsg", { colonyname: session.colony });
      fill(statsBox, 
        counters(stats, PROCESS_KEYS, "processes"),
        h("h3", null, "Workflows"),
        counters(stats, WORKFLOW_KEYS, "workflows"),
      );
      const now = Date.now();
      samples.push([now, stats.successfulprocesses + stats.failedprocesses]);
      while (samples.length > 2 && now - samples[1][0] > 60000) samples.shift();
      const [t0, n0] = samples[0];
      const seconds = (now - t0) / 1000;
      throughputBox.textContent =
        seconds >= 2
          ? `${(((samples.at(-1)[1] - n0) * 60) / seconds).toFixed(1)} / min (over ${formatDuration(seconds)})`
          : "measuring…";
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
      await loadStats(); // also samples throughput while no event arrives
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
