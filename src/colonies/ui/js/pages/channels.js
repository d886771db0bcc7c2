// The channels of a running process, streamed over subscribechannelmsg; the process's initiator
// (or its executor) may also append. Channels end with the process.

import { add, button, fill, formatTime, h, notice, section, shortId } from "../dom.js";
import { subscribe } from "../live.js";
import { base64ToBytes, bytesToBase64 } from "../rpc.js";
import { session } from "../session.js";

const utf8 = new TextDecoder();
const SUBSCRIPTION_SECONDS = 240;

function channelBox(process, name) {
  const report = notice();
  const log = h("pre", { class: "log", dataset: { channel: name } });
  let position = 0;
  const show = (entry) => {
    let text;
    try {
      text = utf8.decode(base64ToBytes(entry.payload || ""));
    } catch {
      text = `(${(entry.payload || "").length} base64 characters)`;
    }
    log.append(
      h(
        "div",
        { class: "log-line" },
        h("span", { class: "log-time" }, `${formatTime(entry.timestamp)} #${entry.sequence} ${shortId(entry.senderid)}${entry.type && entry.type !== "data" ? " " + entry.type : ""}`),
        text,
      ),
    );
    log.scrollTop = log.scrollHeight;
  };
  const sub = subscribe({
    makeFrames: () => [
      ["subscribechannelmsg", { processid: process.processid, name, afterseq: position, timeout: SUBSCRIPTION_SECONDS }, session.keyFor("subscribechannelmsg")],
    ],
    onPush: (_type, entries) => {
      for (const entry of entries || []) {
        show(entry);
        position += 1;
      }
    },
    onError: (err) => report.show(err),
  });
  const input = h("input", { placeholder: "message", class: "wide", dataset: { channelInput: name } });
  const send = button(
    "Send",
    async () => {
      await session.call("channelappendmsg", {
        processid: process.processid,
        name,
        sequence: Date.now(),
        inreplyto: 0,
        payload: bytesToBase64(new TextEncoder().encode(input.value)),
        payloadtype: "",
      });
      input.value = "";
    },
    { report },
  );
  const el = section(`Channel ${name}`, log, h("div", { class: "row" }, input, send), report);
  el.close = () => sub.close();
  return el;
}

export default {
  title: "Channels",
  render(view, { args }) {
    const processid = args[0] || "";
    const boxes = [];
    add(view, h("p", { class: "empty" }, "Loading…"));
    let stopped = false;
    (async () => {
      let process;
      try {
        process = await session.call("getprocessmsg", { processid });
      } catch (err) {
        fill(view, h("h1", null, "Channels"), h("p", { class: "notice error" }, err.message));
        return;
      }
      if (stopped) return;
      const names = process.spec?.channels || [];
      fill(view, 
        h("h1", null, "Channels of ", h("a", { href: `#/process/${processid}`, class: "mono" }, shortId(processid))),
        h("p", { class: "hint" }, "Only the process's initiator and its assigned executor may read or write its channels; they end when the process does."),
        names.length ? null : h("p", { class: "empty" }, "This process has no channels."),
      );
      for (const name of names) {
        const box = channelBox(process, name);
        boxes.push(box);
        add(view, box);
      }
    })();
    return () => {
      stopped = true;
      for (const box of boxes) box.close();
    };
  },
};
