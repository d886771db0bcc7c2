import { h } from "../dom.js";
export default { title: "submit", nav: "submit", render(view) { view.append(h("h1", null, "submit")); return null; } };
