// Crons and generators: add, run now (a cron) or pack an argument (a generator), remove.
// Polled with back-off: the protocol pushes no schedule events.

import { add, button, fill, formatTime, h, notice, section, table } from "../dom.js";
import { poll } from "../live.js";
import { fromJson, toJson } from "../rpc.js";
import { session } from "../session.js";

function workflowText() {
  return toJson(
    {
      colonyname: session.colony,
      functionspecs: [
        { nodename: "step", funcname: "echo", args: ["tick"], conditions: { colonyname: session.colony, executortype: "echo" }, maxexectime: 60 },
      ],
    },
    2,
  );
}

function checkWorkflow(text) {
  try {
    const spec = fromJson(text);
    if (!spec || !Array.isArray(spec.functionspecs)) throw new Error("needs functionspecs");
  } catch (err) {
    throw new Error(`The workflow spec is not a workflow spec JSON: ${err.message}`);
  }
  return text;
}

export default {
  title: "Crons and generators",
  nav: "Schedules",
  render(view) {
    const report = notice();
    const cronsBox = h("div", { id: "cron-list" }, h("p", { class: "empty" }, "Loading…"));
    const generatorsBox = h("div", { id: "generator-list" }, h("p", { class: "empty" }, "Loading…"));

    const cronForm = h(
      "form",
      { class: "form", id: "cron-form" },
      h("label", null, "Name", h("input", { name: "name", autocomplete: "off" })),
      h("label", null, "Cron expression (seconds first)", h("input", { name: "cronexpression", placeholder: "0 */5 * * * *" })),
      h("label", null, "or interval (s; -1: the expression)", h("input", { name: "interval", type: "number", value: "-1" })),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "random" }), "random within interval"),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "waitforprevprocessgraph" }), "wait for the previous run"),
      h("label", null, "Workflow spec (JSON)", h("textarea", { name: "workflowspec", spellcheck: "false" })),
    );
    cronForm.elements.workflowspec.value = workflowText();
    cronForm.addEventListener("submit", (event) => event.preventDefault());
    const addCron = button(
      "Add cron",
      async () => {
        const f = cronForm.elements;
        await session.call("addcronmsg", {
          cron: {
            colonyname: session.colony,
            name: f.name.value.trim(),
            cronexpression: f.cronexpression.value.trim(),
            interval: Number(f.interval.value || -1),
            random: f.random.checked,
            waitforprevprocessgraph: f.waitforprevprocessgraph.checked,
            workflowspec: checkWorkflow(f.workflowspec.value),
          },
        });
        report.ok(`Added cron ${f.name.value.trim()}.`);
        poller.now();
      },
      { report, kind: "primary" },
    );
    addCron.id = "add-cron";

    const generatorForm = h(
      "form",
      { class: "form", id: "generator-form" },
      h("label", null, "Name", h("input", { name: "name", autocomplete: "off" })),
      h("label", null, "Trigger (arguments per run)", h("input", { name: "trigger", type: "number", value: "10" })),
      h("label", null, "Timeout (s, -1 none)", h("input", { name: "timeout", type: "number", value: "-1" })),
      h("label", null, "Workflow spec (JSON)", h("textarea", { name: "workflowspec", spellcheck: "false" })),
    );
    generatorForm.elements.workflowspec.value = workflowText();
    generatorForm.addEventListener("submit", (event) => event.preventDefault());
    const addGenerator = button(
      "Add generator",
      async () => {
        const f = generatorForm.elements;
        await session.call("addgeneratormsg", {
          generator: {
            colonyname: session.colony,
            name: f.name.value.trim(),
            trigger: Number(f.trigger.value || 0),
            timeout: Number(f.timeout.value || 0),
            workflowspec: checkWorkflow(f.workflowspec.value),
          },
        });
        report.ok(`Added generator ${f.name.value.trim()}.`);
        poller.now();
      },
      { report, kind: "primary" },
    );
    addGenerator.id = "add-generator";

    add(view, 
      h("h1", null, "Crons and generators"),
      report,
      section("Crons", cronsBox),
      section("Generators", generatorsBox),
      h("div", { class: "columns" }, section("Add a cron", cronForm, addCron), section("Add a generator", generatorForm, addGenerator)),
    );

    let last = "";
    const load = async () => {
      const [crons, generators] = await Promise.all([
        session.call("getcronsmsg", { colonyname: session.colony, count: 100 }),
        session.call("getgeneratorsmsg", { colonyname: session.colony, count: 100 }),
      ]);
      const snapshot = JSON.stringify([crons, generators]);
      if (snapshot === last) return false;
      last = snapshot;
      fill(cronsBox, 
        table(
          [
            ["Name", (c) => c.name],
            ["Schedule", (c) => c.cronexpression || `every ${c.interval} s${c.random ? " (random)" : ""}`],
            ["Next run", (c) => formatTime(c.nextrun)],
            ["Last run", (c) => formatTime(c.lastrun)],
            ["Last workflow", (c) => (c.prevprocessgraphid ? h("a", { href: `#/workflow/${c.prevprocessgraphid}` }, "open") : "—")],
            [
              "",
              (c) =>
                h(
                  "span",
                  { class: "actions" },
                  button("Run now", async () => {
                    await session.call("runcronmsg", { cronid: c.cronid });
                    report.ok(`Ran cron ${c.name}.`);
                    poller.now();
                  }, { report, kind: "small" }),
                  button("Remove", async () => {
                    await session.call("removecronmsg", { cronid: c.cronid, all: false });
                    poller.now();
                  }, { report, kind: "small danger" }),
                ),
            ],
          ],
          crons,
          { empty: "No crons.", rowProps: (c) => ({ dataset: { cron: c.name } }) },
        ),
      );
      fill(generatorsBox, 
        table(
          [
            ["Name", (g) => g.name],
            ["Trigger", (g) => String(g.trigger)],
            ["Timeout", (g) => (g.timeout > 0 ? `${g.timeout} s` : "none")],
            ["Queued", (g) => String(g.queuesize)],
            ["Last run", (g) => formatTime(g.lastrun)],
            [
              "",
              (g) => {
                const arg = h("input", { placeholder: "argument", class: "small-input" });
                return h(
                  "span",
                  { class: "actions" },
                  arg,
                  button("Pack", async () => {
                    await session.call("packgeneratormsg", { generatorid: g.generatorid, arg: arg.value });
                    arg.value = "";
                    poller.now();
                  }, { report, kind: "small" }),
                  button("Remove", async () => {
                    await session.call("removegeneratormsg", { generatorid: g.generatorid, all: false });
                    poller.now();
                  }, { report, kind: "small danger" }),
                );
              },
            ],
          ],
          generators,
          { empty: "No generators.", rowProps: (g) => ({ dataset: { generator: g.name } }) },
        ),
      );
      return true;
    };
    const poller = poll(() => load().catch((err) => { report.show(err); throw err; }), { min: 5000, max: 30000 });
    return () => poller.close();
  },
};
