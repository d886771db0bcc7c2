import { h } from "../dom.js";
export default { title: "server", nav: "server", render(view) { view.append(h("h1", null, "server")); return null; } };
