import { h } from "../dom.js";
export default { title: "schedules", nav: "schedules", render(view) { view.append(h("h1", null, "schedules")); return null; } };
