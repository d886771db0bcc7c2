import { h } from "../dom.js";
export default { title: "files", nav: "files", render(view) { view.append(h("h1", null, "files")); return null; } };
