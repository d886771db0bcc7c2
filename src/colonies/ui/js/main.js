// The dashboard's entry point: the secure-context check, the header, and the hash router.

import { add, fill, h } from "./dom.js";
import { onConnectionChange } from "./live.js";
import { ROLE_NAMES, restore, session, signOut } from "./session.js";

import blueprints from "./pages/blueprints.js";
import channels from "./pages/channels.js";
import executors from "./pages/executors.js";
import filesPage from "./pages/files.js";
import keys from "./pages/keys.js";
import overview from "./pages/overview.js";
import processPage from "./pages/process.js";
import processes from "./pages/processes.js";
import schedules from "./pages/schedules.js";
import server from "./pages/server.js";
import submit from "./pages/submit.js";
import users from "./pages/users.js";
import workflow from "./pages/workflow.js";
import workflows from "./pages/workflows.js";

// Page name -> page; `nav` is the menu label of pages that have one.
const PAGES = {
  overview,
  processes,
  process: processPage,
  workflows,
  workflow,
  submit,
  executors,
  schedules,
  files: filesPage,
  blueprints,
  channels,
  users,
  server,
  keys,
};

const view = document.getElementById("view");
let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const [name, ...rest] = path.split("/").map(decodeURIComponent);
  return { name: name || "overview", args: rest, query: new URLSearchParams(query) };
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
    cleanup = null;
  }
  let { name, args, query } = parseHash();
  if (!session.signedIn && name !== "keys") {
    name = "keys";
  }
  const page = PAGES[name];
  fill(view);
  view.dataset.page = page ? name : "missing";
  renderNav(name);
  if (!page) {
    add(view, h("h1", null, "Not found"), h("p", null, "No such page: ", name));
    return;
  }
  document.title = `colonies · ${page.title}`;
  try {
    cleanup = page.render(view, { args, query, go }) || null;
  } catch (err) {
    add(view, h("p", { class: "notice error" }, err.message));
  }
}

function renderNav(current) {
  const nav = document.getElementById("nav");
  fill(nav, 
    ...Object.entries(PAGES)
      .filter(([, page]) => page.nav && (session.signedIn || page === keys))
      .map(([name, page]) =>
        h("a", { href: `#/${name}`, class: name === current ? "active" : null }, page.nav),
      ),
  );
  document.getElementById("colony").textContent = session.colony ? session.colony : "";
  const who = document.getElementById("whoami");
  fill(who);
  if (session.signedIn) {
    const roles = new Set();
    for (const k of session.keys) {
      for (const [role, held] of Object.entries(k.roles)) if (held) roles.add(ROLE_NAMES[role]);
    }
    who.append(
      h("span", { class: "roles", title: session.keys.map((k) => k.identity.id).join("\n") }, [...roles].join(" · ")),
      h("button", { type: "button", class: "btn small", id: "sign-out", onclick: async () => {
        await signOut();
        go("#/keys");
      } }, "Sign out"),
    );
  }
}

function refuseInsecure() {
  document.getElementById("nav").replaceChildren();
  fill(view, 
    h(
      "section",
      { class: "panel refusal", id: "insecure" },
      h("h1", null, "This page needs a secure context"),
      h(
        "p",
        null,
        "The dashboard signs every request with your private key inside this browser. Browsers ",
        "only give pages the cryptography for that (WebCrypto) over HTTPS or on this machine ",
        "(http://localhost, http://127.0.0.1), and a key typed into a page served over plain ",
        "HTTP from elsewhere could be read on the way.",
      ),
      h(
        "p",
        null,
        "Open it over HTTPS (set COLONIES_TLSCERT and COLONIES_TLSKEY on the server, or put a ",
        "TLS proxy in front), or through an SSH tunnel: ssh -L 50080:localhost:50080 <server>, ",
        "then http://localhost:50080/ui/.",
      ),
    ),
  );
  const conn = document.getElementById("connection");
  conn.dataset.state = "offline";
  document.getElementById("connection-text").textContent = "not started";
}

async function start() {
  if (!window.isSecureContext || !globalThis.crypto?.subtle) {
    refuseInsecure();
    return;
  }
  onConnectionChange(({ state, text, detail }) => {
    const conn = document.getElementById("connection");
    conn.dataset.state = state;
    conn.title = detail ? `${text}: ${detail}` : text;
    document.getElementById("connection-text").textContent = text;
  });
  fill(view, h("p", { class: "empty" }, "Loading…"));
  const errors = await restore();
  for (const message of errors) console.warn(message);
  session.events.addEventListener("change", () => renderNav(parseHash().name));
  window.addEventListener("hashchange", route);
  route();
}

start();
