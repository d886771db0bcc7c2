// Process events of the signed-in colony over /pubsub (docs/protocol.md §6.18).

import { subscribe } from "./live.js";
import { session } from "./session.js";

// The server ends a subscription after its timeout; the socket is then renewed.
const SUBSCRIPTION_SECONDS = 240;
const ALL_STATES = [0, 1, 2, 3, 4];

/**
 * Every change of any process of the colony: one subscribeprocessesmsg frame per state on one
 * socket. Calls `onProcess(process)` per push and `onOpen()` on every (re)connection.
 */
export function processEvents({ onProcess, onOpen, onError }) {
  return subscribe({
    makeFrames: () => {
      const identity = session.keyFor("subscribeprocessesmsg");
      return ALL_STATES.map((state) => [
        "subscribeprocessesmsg",
        { colonyname: session.colony, executortype: "", state, timeout: SUBSCRIPTION_SECONDS },
        identity,
      ]);
    },
    onPush: (_type, process) => onProcess(process),
    onOpen,
    onError,
  });
}

/**
 * The next change of one process: subscribeprocessmsg for each state it is not in now. The server
 * pushes the process once and ends the socket; `onChange(process)` is called once.
 */
export function nextChange(process, onChange, onError) {
  let done = false;
  const sub = subscribe({
    makeFrames: () => {
      const identity = session.keyFor("subscribeprocessmsg");
      return ALL_STATES.filter((state) => state !== process.state).map((state) => [
        "subscribeprocessmsg",
        {
          colonyname: session.colony,
          processid: process.processid,
          executortype: "",
          state,
          timeout: SUBSCRIPTION_SECONDS,
        },
        identity,
      ]);
    },
    onPush: (_type, changed) => {
      if (done) return;
      done = true;
      sub.close();
      onChange(changed);
    },
    onError,
  });
  return sub;
}
