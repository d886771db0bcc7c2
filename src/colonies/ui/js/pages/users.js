import { h } from "../dom.js";
export default { title: "users", nav: "users", render(view) { view.append(h("h1", null, "users")); return null; } };
