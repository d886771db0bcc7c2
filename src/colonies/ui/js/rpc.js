// Signed RPC to this page's own origin (docs/protocol.md §3): POST /api, and /pubsub frames.
//
// Every payload carries msgtype, a fresh nonce and the time (Unix ns), as the project's SDK
// sends them, so a captured request cannot be replayed. No cookie and no token is ever sent:
// fetch runs with credentials "omit", and the signature is the only credential.

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class RpcError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Big integers (nanosecond times) must survive JSON both ways. A per-page random marker stands in
// for them inside JSON.stringify and is then replaced by the bare digits.
const BIG = "__colonies_big_" + Math.random().toString(36).slice(2) + "_";
const BIG_PATTERN = new RegExp('"' + BIG + '(-?\\d+)"', "g");

/** JSON text of a value in which BigInts are written as plain integers. */
export function toJson(value, indent) {
  const text = JSON.stringify(
    value,
    (_key, v) => (typeof v === "bigint" ? BIG + v.toString() : v),
    indent,
  );
  return text === undefined ? text : text.replace(BIG_PATTERN, "$1");
}

/** JSON.parse keeping integers beyond 2^53 exact (as BigInt), where the browser allows it. */
export function fromJson(text) {
  return JSON.parse(text, (_key, value, context) => {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source) {
      if (/^-?\d+$/.test(context.source)) return BigInt(context.source);
    }
    return value;
  });
}

export function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function base64ToBytes(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// Unique nonces without a random draw per request: a random per-page prefix and a counter.
const noncePrefix = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
  b.toString(16).padStart(2, "0"),
).join("");
let nonceCounter = 0;

function nextNonce() {
  nonceCounter += 1;
  return noncePrefix + nonceCounter.toString(16).padStart(16, "0");
}

/** The request envelope text for `payload`, signed by `identity` (null: unsigned). */
export async function signEnvelope(payloadtype, payload, identity) {
  const body = { ...payload, msgtype: payloadtype };
  if (identity) {
    body.nonce = nextNonce();
    body.timestamp = BigInt(Date.now()) * 1000000n;
  }
  const text = bytesToBase64(utf8.encode(toJson(body)));
  const signature = identity ? await identity.sign(text) : "";
  return JSON.stringify({ signature, payloadtype, payload: text });
}

/** The payload of a reply envelope, or an RpcError for an error envelope. */
export function parseReply(status, text) {
  let envelope;
  let payload;
  try {
    envelope = JSON.parse(text);
    payload = fromJson(utf8Decoder.decode(base64ToBytes(envelope.payload)));
  } catch {
    throw new RpcError(status, `invalid reply from the server (HTTP ${status})`);
  }
  if (envelope.error || status !== 200) {
    if (payload && typeof payload === "object") {
      throw new RpcError(Number(payload.status ?? status), String(payload.message ?? ""));
    }
    throw new RpcError(status, String(payload));
  }
  return { payloadtype: envelope.payloadtype, payload };
}

/** Listeners told of each call's outcome (the connection indicator). */
export const transport = new EventTarget();

/** Sign and send one message to this origin's /api; resolves to the reply payload. */
export async function post(payloadtype, payload, identity) {
  const body = await signEnvelope(payloadtype, payload, identity);
  let response;
  let text;
  try {
    response = await fetch("/api", {
      method: "POST",
      body,
      credentials: "omit",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
    });
    text = await response.text();
  } catch (err) {
    transport.dispatchEvent(new CustomEvent("down", { detail: String(err) }));
    throw new RpcError(0, "cannot reach the server");
  }
  transport.dispatchEvent(new Event("up"));
  return parseReply(response.status, text).payload;
}

function pubsubUrl() {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/pubsub";
}

/**
 * A live /pubsub subscription: sends the signed frames `makeFrames()` returns ([payloadtype,
 * payload, identity] each) on one socket, hands each push to `onPush(payloadtype, payload)`, and
 * reconnects with back-off (frames signed anew) when the socket ends. `onOpen` runs on every
 * (re)connection: the page reloads what it may have missed. States go to `onState`:
 * "connecting", "live", "reconnecting", "failed".
 */
export class Subscription {
  constructor({ makeFrames, onPush, onOpen, onError, onState }) {
    this.makeFrames = makeFrames;
    this.onPush = onPush;
    this.onOpen = onOpen || (() => {});
    this.onError = onError || (() => {});
    this.onState = onState || (() => {});
    this.closed = false;
    this.delay = 500;
    this.timer = null;
    this.socket = null;
    this.connect();
  }

  async connect() {
    if (this.closed) return;
    this.onState("connecting");
    let frames;
    try {
      frames = await Promise.all(
        this.makeFrames().map(([type, payload, identity]) =>
          signEnvelope(type, payload, identity),
        ),
      );
    } catch (err) {
      this.onError(err);
      this.onState("failed");
      return;
    }
    if (this.closed) return;
    const socket = new WebSocket(pubsubUrl());
    this.socket = socket;
    let opened = 0;
    let refused = false;
    socket.onopen = () => {
      opened = Date.now();
      for (const frame of frames) socket.send(frame);
      this.onState("live");
      this.onOpen();
    };
    socket.onmessage = (event) => {
      try {
        const reply = parseReply(200, String(event.data));
        this.onPush(reply.payloadtype, reply.payload);
      } catch (err) {
        refused = true;
        this.onError(err);
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      if (this.closed) return;
      // A subscription that ran its course (the server closes it at its timeout) is renewed at
      // once; a socket that failed early or was refused is retried with exponential back-off.
      const healthy = opened && !refused && Date.now() - opened > 5000;
      this.delay = healthy ? 200 : Math.min(this.delay * 2, 30000);
      this.onState(refused ? "failed" : "reconnecting");
      this.timer = setTimeout(() => this.connect(), this.delay);
    };
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
  }
}
