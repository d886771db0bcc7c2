import { h } from "../dom.js";
export default { title: "workflows", nav: "workflows", render(view) { view.append(h("h1", null, "workflows")); return null; } };
