import { h } from "../dom.js";
export default { title: "workflow", nav: "workflow", render(view) { view.append(h("h1", null, "workflow")); return null; } };
