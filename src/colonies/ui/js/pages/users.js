// The colony's users; the colony owner adds (e.g. an identity generated in a browser) and removes.

import { add, button, fill, h, notice, section, table } from "../dom.js";
import { session } from "../session.js";

export default {
  title: "Users",
  nav: "Users",
  render(view) {
    const report = notice();
    const listBox = h("div", { id: "user-list" }, h("p", { class: "empty" }, "Loading…"));
    const owner = session.can("addusermsg");
    const form = h(
      "form",
      { class: "form", id: "user-form" },
      h("label", null, "Name", h("input", { name: "name", autocomplete: "off" })),
      h("label", null, "ID (64 hex)", h("input", { name: "userid", autocomplete: "off", spellcheck: "false", class: "wide" })),
      h("label", null, "E-mail", h("input", { name: "email", autocomplete: "off" })),
    );
    form.addEventListener("submit", (event) => event.preventDefault());
    const addButton = button(
      "Add user",
      async () => {
        const f = form.elements;
        await session.call("addusermsg", {
          user: { colonyname: session.colony, name: f.name.value.trim(), userid: f.userid.value.trim().toLowerCase(), email: f.email.value.trim(), phone: "" },
        });
        report.ok(`Added user ${f.name.value.trim()}.`);
        form.reset();
        await load();
      },
      { report, kind: "primary", disabled: !owner, title: owner ? null : "needs the colony owner's key" },
    );
    addButton.id = "add-user";
    add(view, h("h1", null, "Users"), report, section("Users", listBox), section("Add a user", form, addButton));
    const load = async () => {
      const users = await session.call("getusersmsg", { colonyname: session.colony });
      fill(listBox, 
        table(
          [
            ["Name", (u) => u.name],
            ["E-mail", (u) => u.email || "—"],
            ["ID", (u) => h("code", { class: "id" }, u.userid)],
            ["", (u) => button("Remove", async () => {
              await session.call("removeusermsg", { colonyname: session.colony, name: u.name });
              await load();
            }, { report, kind: "small danger", disabled: !owner })],
          ],
          users,
          { empty: "No users.", rowProps: (u) => ({ dataset: { user: u.name } }) },
        ),
      );
    };
    load().catch((err) => report.show(err));
    return null;
  },
};
