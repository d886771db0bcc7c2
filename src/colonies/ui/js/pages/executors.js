import { h } from "../dom.js";
export default { title: "executors", nav: "executors", render(view) { view.append(h("h1", null, "executors")); return null; } };
