import { h } from "../dom.js";
export default { title: "channels", nav: "channels", render(view) { view.append(h("h1", null, "channels")); return null; } };
