import { h } from "../dom.js";
export default { title: "blueprints", nav: "blueprints", render(view) { view.append(h("h1", null, "blueprints")); return null; } };
