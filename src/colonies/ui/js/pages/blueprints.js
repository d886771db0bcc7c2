// Blueprints: definitions, each blueprint's declared spec and reported status, its history;
// reconcile now. Polled with back-off (no blueprint events in the protocol).

import { add, button, fill, formatTime, h, jsonBlock, notice, section, shortId, table } from "../dom.js";
import { poll } from "../live.js";
import { session } from "../session.js";

export default {
  title: "Blueprints",
  nav: "Blueprints",
  render(view, { query }) {
    const chosen = query.get("name") || "";
    const report = notice();
    const definitionsBox = h("div", { id: "definition-list" }, h("p", { class: "empty" }, "Loading…"));
    const blueprintsBox = h("div", { id: "blueprint-list" });
    const detailBox = h("div", { id: "blueprint-detail" });
    add(view, 
      h("h1", null, "Blueprints"),
      report,
      section("Blueprints", blueprintsBox),
      chosen ? section(`Blueprint ${chosen}`, detailBox) : null,
      section("Definitions", definitionsBox),
    );
    let last = "";
    const load = async () => {
      const [definitions, blueprints] = await Promise.all([
        session.call("getblueprintdefinitionsmsg", { colonyname: session.colony }),
        session.call("getblueprintsmsg", { namespace: session.colony, kind: "", locationname: "" }),
      ]);
      const current = blueprints.find((b) => b.metadata?.name === chosen);
      const history = current
        ? await session.call("getblueprinthistorymsg", { blueprintid: current.blueprintid, limit: 50 })
        : [];
      const snapshot = JSON.stringify([definitions, blueprints, history]);
      if (snapshot === last) return false;
      last = snapshot;
      fill(definitionsBox, 
        table(
          [
            ["Kind", (d) => d.kind || d.spec?.names?.kind],
            ["Group / version", (d) => `${d.spec?.group || "—"} / ${d.spec?.version || "—"}`],
            ["Reconciler", (d) => `${d.spec?.handler?.executorType || "—"} · ${d.spec?.handler?.functionName || "—"}`],
            ["Every", (d) => (d.spec?.handler?.reconcileInterval ? `${d.spec.handler.reconcileInterval} s` : "—")],
          ],
          definitions,
          { empty: "No blueprint definitions." },
        ),
      );
      fill(blueprintsBox, 
        table(
          [
            ["Name", (b) => h("a", { href: `#/blueprints?name=${encodeURIComponent(b.metadata?.name || "")}` }, b.metadata?.name || "—")],
            ["Kind", (b) => b.kind],
            ["Location", (b) => b.metadata?.locationname || "—"],
            ["Generation", (b) => String(b.metadata?.generation ?? 0)],
            ["Last reconciled", (b) => formatTime(b.metadata?.lastReconciliationTime)],
            ["Status", (b) => h("code", null, JSON.stringify(b.status || {}))],
            [
              "",
              (b) =>
                button("Reconcile", async () => {
                  const process = await session.call("reconcileblueprintmsg", { namespace: session.colony, name: b.metadata.name, force: true });
                  report.ok(`Reconcile process ${process.processid} submitted.`);
                  poller.now();
                }, { report, kind: "small" }),
            ],
          ],
          blueprints,
          { empty: "No blueprints.", rowProps: (b) => ({ dataset: { blueprint: b.metadata?.name || "" } }) },
        ),
      );
      if (chosen) {
        fill(detailBox, 
          current
            ? h(
                "div",
                { class: "columns" },
                h("div", null, h("h3", null, "Declared (spec)"), jsonBlock(current.spec || {})),
                h("div", null, h("h3", null, "Reported (status)"), jsonBlock(current.status || {}, { id: "blueprint-status" })),
              )
            : h("p", { class: "notice error" }, `No blueprint named ${chosen}.`),
          h("h3", null, "History"),
          table(
            [
              ["Generation", (e) => String(e.generation)],
              ["Change", (e) => e.changetype],
              ["When", (e) => formatTime(e.timestamp)],
              ["By", (e) => h("code", { title: e.changedby }, shortId(e.changedby))],
              ["Spec", (e) => h("code", null, JSON.stringify(e.spec || {}))],
            ],
            history,
            { empty: "No history." },
          ),
        );
      }
      return true;
    };
    const poller = poll(() => load().catch((err) => { report.show(err); throw err; }), { min: 5000, max: 30000 });
    return () => poller.close();
  },
};
