// The server and its cluster, for the server owner: build, statistics over all colonies, the
// replicas and the leader (getclustermsg); the leader's term comes from this replica's /metrics.

import { add, facts, fill, formatTime, h, notice, section, table } from "../dom.js";
import { poll } from "../live.js";
import { post } from "../rpc.js";
import { session } from "../session.js";

/** colonies_leader and colonies_leader_term of the replica that serves this page. */
async function leaderGauges() {
  const response = await fetch("/metrics", { credentials: "omit", cache: "no-store" });
  if (!response.ok) return null;
  const text = await response.text();
  const value = (name) => {
    const line = text.split("\n").find((l) => l.startsWith(name + " "));
    return line ? Number(line.split(" ")[1]) : null;
  };
  return { leader: value("colonies_leader"), term: value("colonies_leader_term") };
}

export default {
  title: "Server",
  nav: "Server",
  render(view) {
    const report = notice();
    const infoBox = h("div", { id: "server-info" });
    const clusterBox = h("div", { id: "cluster" });
    const statsBox = h("div", { id: "server-stats" });
    const coloniesBox = h("div", { id: "colony-list" });
    add(view, h("h1", null, "Server"), report, h("div", { class: "columns" }, section("Build", infoBox), section("Cluster", clusterBox)), section("Statistics (all colonies)", statsBox), section("Colonies", coloniesBox));
    const owner = session.has("server");
    if (!owner) {
      const needs = h("p", { class: "notice" }, "The cluster, statistics and colonies need the server owner's key (Keys page).");
      clusterBox.append(needs.cloneNode(true));
      statsBox.append(needs);
    }
    let last = "";
    const load = async () => {
      const info = await post("getserverinfomsg", {}, null);
      fill(infoBox, 
        facts([
          ["Version", info.buildversion],
          ["Built", formatTime(info.buildtime)],
          ["Backends", (info.backends || []).map((b) => `${b.type} ${b.host}:${b.port}${b.tls ? " (TLS)" : ""}`).join(", ")],
        ]),
      );
      if (!owner) return false;
      const [cluster, stats, colonies, gauges] = await Promise.all([
        session.call("getclustermsg", {}),
        session.call("getstatisticsmsg", {}),
        session.call("getcoloniesmsg", {}),
        leaderGauges().catch(() => null),
      ]);
      const snapshot = JSON.stringify([cluster, stats, colonies, gauges]);
      if (snapshot === last) return false;
      last = snapshot;
      const term =
        gauges && gauges.leader === 1
          ? `${gauges.term} (this replica leads)`
          : "known to the leader only (this replica does not lead)";
      fill(clusterBox, 
        facts([
          ["Leader", h("strong", { id: "leader" }, cluster.leader?.name || "none")],
          ["Leader's term", h("span", { id: "term" }, term)],
          ["Replicas", String((cluster.nodes || []).length)],
        ]),
        table(
          [
            ["Name", (n) => (n.name === cluster.leader?.name ? `${n.name} (leader)` : n.name)],
            ["Host", (n) => n.host || "—"],
            ["API port", (n) => String(n.apiport || "—")],
            ["etcd port", (n) => String(n.port || "—")],
          ],
          cluster.nodes || [],
          { empty: "No replicas registered." },
        ),
      );
      fill(statsBox, 
        facts(Object.entries(stats).map(([k, v]) => [k, String(v)])),
      );
      fill(coloniesBox, 
        table(
          [
            ["Name", (c) => c.name],
            ["Owner ID", (c) => h("code", { class: "id" }, c.colonyid)],
          ],
          colonies,
          { empty: "No colonies." },
        ),
      );
      return true;
    };
    const poller = poll(() => load().catch((err) => { report.show(err); throw err; }), { min: 5000, max: 30000 });
    return () => poller.close();
  },
};
