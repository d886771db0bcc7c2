// One process: spec, conditions, attributes, input/output, errors, timings, its log (followed
// live), and its channels. Its state changes arrive over a subscribeprocessmsg socket.

import { nextChange } from "../colony.js";
import { add, between, facts, fill, formatDuration, formatTime, h, jsonBlock, notice, section, shortId, stateBadge, table } from "../dom.js";
import { poll } from "../live.js";
import { session } from "../session.js";
import { processActions } from "./processes.js";

const ATTRIBUTE_TYPES = ["in", "out", "err", "env"];
const LOG_BATCH = 500; // the protocol's limit per getlogsmsg

function nsToTime(ns) {
  const ms = typeof ns === "bigint" ? Number(ns / 1000000n) : Math.floor(Number(ns) / 1e6);
  return new Date(ms).toLocaleTimeString(undefined, { hour12: false });
}

function limit(seconds) {
  return seconds > 0 ? `${seconds} s` : "none";
}

function processLink(id) {
  return h("a", { href: `#/process/${id}`, class: "mono" }, shortId(id));
}

/** The log panel: follows the log while the box is ticked, polling with back-off. */
function logPanel(process, running) {
  const out = h("pre", { class: "log", id: "log" });
  const follow = h("input", { type: "checkbox", id: "follow", checked: running });
  const status = h("span", { class: "hint", id: "log-status" });
  let since = 0;
  let lines = 0;
  let poller = null;
  const fetchLines = async () => {
    const entries = await session.call("getlogsmsg", {
      colonyname: process.spec?.conditions?.colonyname || session.colony,
      processid: process.processid,
      count: LOG_BATCH,
      since,
    });
    for (const entry of entries) {
      out.append(
        h(
          "div",
          { class: "log-line" },
          h("span", { class: "log-time" }, nsToTime(entry.timestamp)),
          entry.message,
        ),
      );
      since = entry.timestamp;
      lines += 1;
    }
    if (entries.length) out.scrollTop = out.scrollHeight;
    status.textContent = `${lines} line${lines === 1 ? "" : "s"}`;
    return entries.length > 0;
  };
  const setFollowing = () => {
    if (follow.checked && !poller) {
      poller = poll(fetchLines, { min: 1000, max: 5000 });
      status.textContent = "following…";
    } else if (!follow.checked && poller) {
      poller.close();
      poller = null;
    }
  };
  follow.addEventListener("change", setFollowing);
  if (running) setFollowing();
  else fetchLines().catch((err) => (status.textContent = err.message));
  const el = section(
    "Log",
    h("div", { class: "row" }, h("label", { class: "inline" }, follow, "Follow"), status),
    out,
  );
  el.stop = () => poller?.close();
  return el;
}

function render(view, process, report, reload) {
  const spec = process.spec || {};
  const conditions = spec.conditions || {};
  const finished = process.state >= 2;
  const channels = spec.channels || [];
  const links = [
    process.processgraphid
      ? h("a", { href: `#/workflow/${process.processgraphid}` }, "workflow")
      : null,
    channels.length ? h("a", { href: `#/channels/${process.processid}`, id: "channels-link" }, "channels") : null,
  ].filter(Boolean);
  const log = logPanel(process, !finished);
  fill(view, 
    h(
      "h1",
      null,
      "Process ",
      h("span", { class: "mono", id: "process-id" }, process.processid),
      " ",
      h("span", { id: "process-state" }, stateBadge(process.state)),
    ),
    h("div", { class: "row" }, processActions(process, report, reload), ...links),
    report,
    process.errors?.length
      ? section(
          "Errors",
          h("ul", { class: "errors", id: "errors" }, process.errors.map((e) => h("li", null, e))),
        )
      : null,
    h(
      "div",
      { class: "columns" },
      section(
        "Function",
        facts([
          ["Function", spec.funcname || "—"],
          ["Node", spec.nodename || "—"],
          ["Arguments", h("code", null, JSON.stringify(spec.args ?? []))],
          ["Keyword arguments", h("code", null, JSON.stringify(spec.kwargs ?? {}))],
          ["Label", spec.label || "—"],
          ["Priority", String(spec.priority ?? 0)],
          ["Initiator", `${process.initiatorname || "—"} (${shortId(process.initiatorid)})`],
          ["Assigned executor", process.isassigned ? h("code", null, process.assignedexecutorid) : "—"],
        ]),
      ),
      section(
        "Timings",
        facts([
          ["Submitted", formatTime(process.submissiontime)],
          ["Started", formatTime(process.starttime)],
          ["Ended", formatTime(process.endtime)],
          ["Waited", formatDuration(between(process.submissiontime, process.starttime))],
          ["Ran", formatDuration(between(process.starttime, process.endtime))],
          ["Wait deadline", formatTime(process.waitdeadline)],
          ["Execution deadline", formatTime(process.execdeadline)],
          ["Max wait / exec time", `${limit(spec.maxwaittime)} / ${limit(spec.maxexectime)}`],
          ["Retries", `${process.retries} (at most ${spec.maxretries > 0 ? spec.maxretries : "none"})`],
        ]),
      ),
      section(
        "Conditions",
        facts([
          ["Colony", conditions.colonyname || "—"],
          ["Executor type", conditions.executortype || "—"],
          ["Executor names", (conditions.executornames || []).join(", ") || "any"],
          ["Location", conditions.locationname || "any"],
          ["Dependencies", (conditions.dependencies || []).join(", ") || "none"],
          ["CPU / memory", `${conditions.cpu || "—"} / ${conditions.mem || "—"}`],
          ["GPUs", conditions.gpu?.count ? `${conditions.gpu.count} × ${conditions.gpu.name || "any"}` : "—"],
          ["Wall time", conditions.walltime ? `${conditions.walltime} s` : "—"],
        ]),
      ),
    ),
    h(
      "div",
      { class: "columns" },
      section("Input", jsonBlock(process.in ?? [], { id: "input" })),
      section("Output", jsonBlock(process.out ?? [], { id: "output" })),
    ),
    section(
      "Attributes",
      table(
        [
          ["Key", (a) => a.key],
          ["Value", (a) => a.value],
          ["Type", (a) => ATTRIBUTE_TYPES[a.attributetype] ?? String(a.attributetype)],
        ],
        process.attributes || [],
        { empty: "No attributes." },
      ),
    ),
    process.parents?.length || process.children?.length
      ? section(
          "Workflow neighbours",
          facts([
            ["Parents", h("span", null, (process.parents || []).map(processLink))],
            ["Children", h("span", null, (process.children || []).map(processLink))],
          ]),
        )
      : null,
    log,
    section("Specification", jsonBlock(spec, { id: "spec" })),
  );
  return log;
}

export default {
  title: "Process",
  render(view, { args }) {
    const processid = args[0] || "";
    const report = notice();
    let log = null;
    let watch = null;
    let stopped = false;
    add(view, h("p", { class: "empty" }, "Loading…"));
    const load = async () => {
      let process;
      try {
        process = await session.call("getprocessmsg", { processid });
      } catch (err) {
        fill(view, h("h1", null, "Process"), h("p", { class: "notice error" }, err.message));
        return;
      }
      if (stopped) return;
      log?.stop();
      log = render(view, process, report, load);
      watch?.close();
      watch = null;
      // Finished processes change no more (only removal); others are watched for their next state.
      if (process.state < 2) {
        watch = nextChange(process, () => load(), (err) => report.show(err));
      }
    };
    load();
    return () => {
      stopped = true;
      log?.stop();
      watch?.close();
    };
  },
};
