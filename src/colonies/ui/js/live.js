// Live updates and the connection indicator: /pubsub subscriptions where the protocol has them
// (process events, channels), otherwise short polling that backs off while nothing changes or
// the server cannot be reached.

import { Subscription, transport } from "./rpc.js";

const sources = new Set();
let reachable = true;
let lastError = "";
const listeners = new Set();

transport.addEventListener("up", () => setReachable(true));
transport.addEventListener("down", (event) => {
  lastError = event.detail || "";
  setReachable(false);
});

function setReachable(value) {
  if (reachable !== value) {
    reachable = value;
    notify();
  }
}

function notify() {
  const state = connectionState();
  for (const listener of listeners) listener(state);
}

/** {state, text}: state is "offline", "reconnecting", "live", "polling" or "idle". */
export function connectionState() {
  if (!reachable) return { state: "offline", text: "offline, retrying", detail: lastError };
  const subs = [...sources].filter((s) => s.kind === "subscription");
  const polls = [...sources].filter((s) => s.kind === "poll");
  if (subs.some((s) => s.state === "failed")) return { state: "offline", text: "subscription refused" };
  if (subs.some((s) => s.state !== "live")) return { state: "reconnecting", text: "connecting…" };
  if (subs.length) return { state: "live", text: "live" };
  if (polls.length) {
    const every = Math.min(...polls.map((p) => p.interval)) / 1000;
    return { state: "polling", text: `polling every ${every < 10 ? every.toFixed(1) : every.toFixed(0)} s` };
  }
  return { state: "idle", text: "connected" };
}

export function onConnectionChange(listener) {
  listeners.add(listener);
  listener(connectionState());
  return () => listeners.delete(listener);
}

/** A /pubsub subscription that shows in the indicator; `close()` ends it. */
export function subscribe(options) {
  const source = { kind: "subscription", state: "connecting" };
  sources.add(source);
  notify();
  const sub = new Subscription({
    ...options,
    onState: (state) => {
      source.state = state;
      notify();
    },
  });
  return {
    close() {
      sub.close();
      sources.delete(source);
      notify();
    },
  };
}

/**
 * Run `load()` now and then every `min` ms while the page is visible; the interval doubles (up to
 * `max`) while `load()` reports no change (returns false) or fails, and is back to `min` after a
 * change. `load()` may return true (changed) or false (same as before).
 */
export function poll(load, { min = 2000, max = 30000 } = {}) {
  const source = { kind: "poll", interval: min };
  sources.add(source);
  let timer = null;
  let stopped = false;
  const run = async () => {
    timer = null;
    if (stopped) return;
    if (document.hidden) {
      timer = setTimeout(run, min);
      return;
    }
    let changed = true;
    try {
      changed = (await load()) !== false;
    } catch {
      changed = false;
    }
    if (stopped) return;
    source.interval = changed ? min : Math.min(source.interval * 2, max);
    notify();
    timer = setTimeout(run, source.interval);
  };
  run();
  notify();
  return {
    now() {
      if (timer) clearTimeout(timer);
      source.interval = min;
      run();
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      sources.delete(source);
      notify();
    },
  };
}

/** Call `fn` at most once per `ms` (trailing). */
export function throttle(fn, ms) {
  let timer = null;
  let pending = false;
  return (...args) => {
    if (timer) {
      pending = true;
      return;
    }
    fn(...args);
    timer = setTimeout(function tick() {
      if (pending) {
        pending = false;
        fn(...args);
        timer = setTimeout(tick, ms);
      } else timer = null;
    }, ms);
  };
}
