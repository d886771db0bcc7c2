// The keys this page holds and what each may do; every call is signed by the key whose role
// the message needs (docs/protocol.md §4). There is no server session: a key is the sign-in.
//
// Keys live in this page's memory. On request they are kept for the browser tab (session
// storage, the key's text) or on this device as a non-extractable WebCrypto key (IndexedDB,
// Ed25519 only: the browser signs with it but never hands its bytes to any script).

import { ed25519FromCryptoKey, nonExtractableEd25519, parsePrivateKey } from "./keys.js";
import { RpcError, post } from "./rpc.js";

const SERVER_OWNER = new Set([
  "getcoloniesmsg",
  "addcolonymsg",
  "removecolonymsg",
  "getstatisticsmsg",
  "getclustermsg",
  "changeserveridmsg",
]);
const COLONY_OWNER = new Set([
  "addexecutormsg",
  "approveexecutormsg",
  "rejectexecutormsg",
  "removeexecutormsg",
  "addusermsg",
  "removeusermsg",
  "addlocationmsg",
  "removelocationmsg",
  "removeallprocessesmsg",
  "removeallprocessgraphsmsg",
  "pauseassignmentsmsg",
  "resumeassignmentsmsg",
  "addblueprintdefinitionmsg",
  "removeblueprintdefinitionmsg",
  "changecolonyidmsg",
]);
// Messages a member or the colony owner may send (the blueprint family).
const MEMBER_OR_OWNER = new Set([
  "getblueprintdefinitionmsg",
  "getblueprintdefinitionsmsg",
  "addblueprintmsg",
  "getblueprintmsg",
  "getblueprintsmsg",
  "updateblueprintmsg",
  "removeblueprintmsg",
  "getblueprinthistorymsg",
]);
const UNSIGNED = new Set(["versionmsg", "getserverinfomsg"]);

export const ROLE_NAMES = {
  server: "server owner",
  owner: "colony owner",
  member: "colony member",
};

/** The role a message needs: "server", "owner", "member", "member-or-owner" or "none". */
export function roleOf(payloadtype) {
  if (UNSIGNED.has(payloadtype)) return "none";
  if (SERVER_OWNER.has(payloadtype)) return "server";
  if (COLONY_OWNER.has(payloadtype)) return "owner";
  if (MEMBER_OR_OWNER.has(payloadtype)) return "member-or-owner";
  return "member";
}

export class NeedKey extends Error {
  constructor(role) {
    const who = role === "member-or-owner" ? "a colony member's or the colony owner's" : null;
    super(`This needs ${who || "the " + ROLE_NAMES[role] + "'s"} key: add it on the Keys page.`);
    this.role = role;
  }
}

const SESSION_KEYS = "colonies.keys";
const COLONY = "colonies.colony";
const DB_NAME = "colonies-ui";

/** Everything the page knows about who it is. */
export const session = {
  colony: "",
  /** [{identity, roles: {server, owner, member}, kept: "memory"|"tab"|"device"}] */
  keys: [],
  events: new EventTarget(),

  get signedIn() {
    return this.keys.length > 0;
  },

  has(role) {
    if (role === "none") return true;
    if (role === "member-or-owner") return this.keys.some((k) => k.roles.member || k.roles.owner);
    return this.keys.some((k) => k.roles[role]);
  },

  can(payloadtype) {
    return this.has(roleOf(payloadtype));
  },

  keyFor(payloadtype) {
    const role = roleOf(payloadtype);
    if (role === "none") return null;
    const pick = (r) => this.keys.find((k) => k.roles[r]);
    const found = role === "member-or-owner" ? pick("member") || pick("owner") : pick(role);
    if (!found) throw new NeedKey(role);
    return found.identity;
  },

  /** Send one message, signed by the key that has the role it needs. */
  async call(payloadtype, payload = {}) {
    return post(payloadtype, payload, this.keyFor(payloadtype));
  },

  changed() {
    this.events.dispatchEvent(new Event("change"));
  },
};

/**
 * What `identity` may do here: {server, owner, member}, probed with read-only messages.
 * Throws an RpcError that explains the refusal when it may do nothing.
 */
export async function probeRoles(identity, colony) {
  const roles = { server: false, owner: false, member: false };
  const attempt = (type, payload) =>
    post(type, payload, identity).then(
      (value) => ({ ok: true, value }),
      (error) => ({ ok: false, error }),
    );
  const [asMember, asServer] = await Promise.all([
    colony ? attempt("getcolonymsg", { colonyname: colony }) : null,
    attempt("getcoloniesmsg", {}),
  ]);
  for (const result of [asMember, asServer]) {
    if (result && !result.ok && result.error.status === 0) throw result.error; // server unreachable
  }
  roles.server = asServer.ok;
  if (asMember && asMember.ok) {
    roles.member = true;
    roles.owner = asMember.value.colonyid === identity.id;
  } else if (asMember && asMember.error.message.startsWith("Access denied")) {
    // The colony owner is not a member; a message open to both tells it apart.
    const asOwner = await attempt("getblueprintdefinitionsmsg", { colonyname: colony });
    roles.owner = asOwner.ok;
  } else if (asServer.ok && colony) {
    const owned = asServer.value.find((c) => c.name === colony);
    roles.owner = Boolean(owned && owned.colonyid === identity.id);
  }
  if (!roles.server && !roles.owner && !roles.member) {
    const why = asMember && !asMember.ok ? asMember.error.message : "not the server owner";
    throw new RpcError(
      403,
      `Refused: the key with ID ${identity.id} is not a member or the owner of colony ` +
        `"${colony}" and not the server owner (the server said: ${why}).`,
    );
  }
  return roles;
}

/** Add a key after probing what it may do; keeps it as asked ("memory", "tab", "device"). */
export async function addKey(identity, colony, kept = "memory") {
  const roles = await probeRoles(identity, colony);
  session.colony = colony;
  session.keys = session.keys.filter((k) => k.identity.id !== identity.id);
  session.keys.push({ identity, roles, kept });
  sessionStorage.setItem(COLONY, colony);
  if (kept === "device") localStorage.setItem(COLONY, colony);
  await persist();
  session.changed();
  return roles;
}

export async function removeKey(id) {
  session.keys = session.keys.filter((k) => k.identity.id !== id);
  await persist();
  await forgetOnDevice(id);
  session.changed();
}

export async function signOut() {
  const ids = session.keys.map((k) => k.identity.id);
  session.keys = [];
  sessionStorage.removeItem(SESSION_KEYS);
  for (const id of ids) await forgetOnDevice(id);
  session.changed();
}

async function persist() {
  const texts = session.keys
    .filter((k) => k.kept === "tab" && k.identity.rememberable)
    .map((k) => k.identity.secretText());
  if (texts.length) sessionStorage.setItem(SESSION_KEYS, JSON.stringify(texts));
  else sessionStorage.removeItem(SESSION_KEYS);
  for (const k of session.keys.filter((k) => k.kept === "device")) {
    const stored = await nonExtractableEd25519(k.identity);
    if (stored) await deviceStore("readwrite", (store) => store.put(stored));
  }
}

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore("keys", { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function deviceStore(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction("keys", mode);
      const request = action(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

async function forgetOnDevice(id) {
  try {
    await deviceStore("readwrite", (store) => store.delete(id));
  } catch {
    // no IndexedDB (a private window): nothing was stored
  }
}

/** Keys kept for this tab or on this device, signed in again; returns the errors met. */
export async function restore() {
  const colony = sessionStorage.getItem(COLONY) || localStorage.getItem(COLONY) || "";
  session.colony = colony;
  const found = [];
  for (const text of JSON.parse(sessionStorage.getItem(SESSION_KEYS) || "[]")) {
    try {
      found.push([await parsePrivateKey(text), "tab"]);
    } catch {
      // a stored key that no longer parses is dropped
    }
  }
  try {
    const stored = await deviceStore("readonly", (store) => store.getAll());
    for (const item of stored || []) {
      found.push([await ed25519FromCryptoKey(item.privateKey, item.publicHex), "device"]);
    }
  } catch {
    // no IndexedDB: nothing kept on this device
  }
  const errors = [];
  for (const [identity, kept] of found) {
    try {
      const roles = await probeRoles(identity, colony);
      session.keys = session.keys.filter((k) => k.identity.id !== identity.id);
      session.keys.push({ identity, roles, kept });
    } catch (err) {
      errors.push(err.message);
    }
  }
  session.changed();
  return errors;
}
