import { h } from "../dom.js";
export default { title: "process", nav: "process", render(view) { view.append(h("h1", null, "process")); return null; } };
