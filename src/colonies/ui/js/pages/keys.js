// Sign-in and the keys this page holds. Signing in is no server session: the page probes what
// a key may do (member, colony owner, server owner) and signs each later request with it.

import { generateEd25519, parsePrivateKey } from "../keys.js";
import { add, button, fill, h, notice, section, table } from "../dom.js";
import { ROLE_NAMES, addKey, removeKey, session } from "../session.js";

const KEEP_CHOICES = [
  ["memory", "in this page only (gone on reload)"],
  ["tab", "for this browser tab (session storage)"],
  ["device", "on this device, non-extractable (Ed25519 only)"],
];

function keyForm({ report, onDone, withColony }) {
  const colony = h("input", {
    id: "colony-name",
    name: "colony",
    autocomplete: "off",
    spellcheck: "false",
    value: session.colony,
    placeholder: "dev",
  });
  const key = h("input", {
    id: "private-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "64 hex characters, or ed25519:<64 hex>",
  });
  const keep = h(
    "select",
    { id: "keep" },
    KEEP_CHOICES.map(([value, label]) => h("option", { value }, label)),
  );
  const submit = async () => {
    report.clear();
    let identity;
    try {
      identity = await parsePrivateKey(key.value);
    } catch (err) {
      report.show(`Not a private key: ${err.message}.`);
      return;
    }
    if (keep.value === "device" && identity.scheme !== "ed25519") {
      report.show("Only an Ed25519 key can be kept as a non-extractable WebCrypto key.");
      return;
    }
    const name = withColony ? colony.value.trim() : session.colony;
    const roles = await addKey(identity, name, keep.value);
    key.value = "";
    onDone(identity, roles);
  };
  const form = h(
    "form",
    { class: "form", id: withColony ? "sign-in-form" : "add-key-form" },
    withColony ? h("label", null, "Colony", colony) : null,
    h("label", null, "Private key", key),
    h("label", null, "Keep the key", keep),
    button(withColony ? "Sign in" : "Add key", submit, { report, kind: "primary" }),
  );
  form.addEventListener("submit", (event) => event.preventDefault());
  key.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      form.querySelector("button").click();
    }
  });
  if (withColony) form.querySelector("button").id = "sign-in";
  else form.querySelector("button").id = "add-key";
  return form;
}

function generatePanel() {
  const report = notice();
  const out = h("div", { id: "generated" });
  const generate = async () => {
    const identity = await generateEd25519();
    const secret = h("code", { class: "secret", id: "generated-key", hidden: true }, identity.secretText());
    const reveal = h("button", { type: "button", class: "btn small" }, "Show the private key");
    reveal.addEventListener("click", () => {
      secret.hidden = !secret.hidden;
      reveal.textContent = secret.hidden ? "Show the private key" : "Hide the private key";
    });
    const use = button(
      "Sign in with it",
      async () => {
        report.clear();
        await addKey(identity, session.colony || document.getElementById("colony-name")?.value.trim() || "", "memory");
        location.hash = "#/overview";
      },
      { report },
    );
    use.id = "use-generated";
    fill(out, 
      h("p", null, "Its ID (give it to the colony owner):"),
      h("code", { class: "id", id: "generated-id" }, identity.id),
      h("p", null, "The colony owner registers it as a user, e.g.:"),
      h("pre", { class: "command" }, `colonies user add --name <name> --userid ${identity.id}`),
      h(
        "p",
        { class: "hint" },
        "The key was made in this browser and has been sent nowhere. Save it somewhere safe ",
        "if you want to use it after this page is closed.",
      ),
      h("div", { class: "row" }, reveal, use),
      secret,
    );
  };
  const gen = button("Generate an Ed25519 identity", generate, { report });
  gen.id = "generate";
  return section(
    "New identity",
    h("p", null, "Make a key here; only its ID needs to leave this browser."),
    gen,
    out,
    report,
  );
}

function keysTable(rerender) {
  const report = notice();
  const rows = session.keys.map((k) => k);
  return section(
    "Keys in this page",
    table(
      [
        ["ID", (k) => h("code", { class: "id" }, k.identity.id)],
        ["Scheme", (k) => k.identity.scheme],
        [
          "May act as",
          (k) =>
            Object.entries(k.roles)
              .filter(([, held]) => held)
              .map(([role]) => ROLE_NAMES[role])
              .join(", "),
        ],
        ["Kept", (k) => KEEP_CHOICES.find(([v]) => v === k.kept)?.[1] ?? k.kept],
        [
          "",
          (k) =>
            button(
              "Remove",
              async () => {
                await removeKey(k.identity.id);
                rerender();
              },
              { report, kind: "small" },
            ),
        ],
      ],
      rows,
      { rowProps: (k) => ({ dataset: { id: k.identity.id } }) },
    ),
    report,
  );
}

export default {
  title: "Keys",
  nav: "Keys",
  render(view, { go }) {
    const draw = () => {
      fill(view);
      const report = notice();
      report.id = "signin-error";
      if (!session.signedIn) {
        add(view, 
          h("h1", null, "Sign in"),
          section(
            "With your key",
            h(
              "p",
              null,
              "Paste a private key. It stays in this browser: the page signs each request with ",
              "it and sends only the signature. No cookie, no token, no password.",
            ),
            keyForm({ report, withColony: true, onDone: () => go(session.colony ? "#/overview" : "#/server") }),
            report,
          ),
          generatePanel(),
        );
      } else {
        add(view, 
          h("h1", null, "Keys"),
          h(
            "p",
            null,
            `Colony ${session.colony || "(none)"}. Each request is signed by the key whose role it needs; `,
            "add the colony owner's key to approve executors or add users, the server owner's for the server view.",
          ),
          keysTable(draw),
          section("Add a key", keyForm({ report, withColony: false, onDone: draw }), report),
          generatePanel(),
        );
      }
    };
    draw();
    return null;
  },
};
