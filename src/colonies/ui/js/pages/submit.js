// Submit a function spec (from a form or as JSON) or a workflow spec (JSON).

import { add, button, h, notice, section } from "../dom.js";
import { fromJson, toJson } from "../rpc.js";
import { session } from "../session.js";

function parseJson(text, what) {
  try {
    return fromJson(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${err.message}`);
  }
}

function field(label, props) {
  return h("label", null, label, h("input", { autocomplete: "off", spellcheck: "false", ...props }));
}

function workflowTemplate() {
  const step = (nodename, funcname, dependencies) => ({
    nodename,
    funcname,
    args: [],
    conditions: { colonyname: session.colony, executortype: "echo", dependencies },
    maxexectime: 60,
    maxretries: 3,
  });
  return { colonyname: session.colony, functionspecs: [step("first", "echo", []), step("second", "echo", ["first"])] };
}

export default {
  title: "Submit",
  nav: "Submit",
  render(view, { query, go }) {
    const report = notice();
    report.id = "submit-result";
    const form = h(
      "form",
      { class: "form", id: "spec-form" },
      field("Function", { name: "funcname", required: true, placeholder: "echo" }),
      field("Executor type", { name: "executortype", required: true, placeholder: "echo" }),
      field("Arguments (JSON array)", { name: "args", value: "[]" }),
      field("Keyword arguments (JSON object)", { name: "kwargs", value: "{}" }),
      field("Priority", { name: "priority", type: "number", value: "0" }),
      field("Max wait time (s, -1 none)", { name: "maxwaittime", type: "number", value: "-1" }),
      field("Max exec time (s, -1 none)", { name: "maxexectime", type: "number", value: "-1" }),
      field("Max retries", { name: "maxretries", type: "number", value: "0" }),
      field("Label", { name: "label" }),
      field("Location", { name: "locationname" }),
      field("Channels (comma separated)", { name: "channels" }),
    );
    form.addEventListener("submit", (event) => event.preventDefault());
    const fromForm = () => {
      const v = (name) => form.elements[name].value.trim();
      const args = parseJson(v("args") || "[]", "Arguments");
      const kwargs = parseJson(v("kwargs") || "{}", "Keyword arguments");
      if (!Array.isArray(args)) throw new Error("Arguments must be a JSON array.");
      if (!kwargs || typeof kwargs !== "object" || Array.isArray(kwargs))
        throw new Error("Keyword arguments must be a JSON object.");
      if (!v("funcname") || !v("executortype")) throw new Error("Give a function and an executor type.");
      return {
        funcname: v("funcname"),
        args,
        kwargs,
        priority: Number(v("priority") || 0),
        maxwaittime: Number(v("maxwaittime") || 0),
        maxexectime: Number(v("maxexectime") || 0),
        maxretries: Number(v("maxretries") || 0),
        label: v("label"),
        channels: v("channels") ? v("channels").split(",").map((c) => c.trim()).filter(Boolean) : [],
        conditions: { colonyname: session.colony, executortype: v("executortype"), locationname: v("locationname") },
      };
    };
    const submitSpec = async (spec) => {
      const process = await session.call("submitfuncspecmsg", { spec });
      report.ok(`Submitted process ${process.processid}.`);
      go(`#/process/${process.processid}`);
    };
    const json = h("textarea", { id: "spec-json", spellcheck: "false" });
    const kind = query.get("kind") === "workflow" ? "workflow" : "function";
    json.value = toJson(
      kind === "workflow"
        ? workflowTemplate()
        : { funcname: "echo", args: ["hello"], conditions: { colonyname: session.colony, executortype: "echo" }, maxexectime: 60 },
      2,
    );
    const submitJson = async () => {
      const spec = parseJson(json.value, "The specification");
      if (!spec || typeof spec !== "object" || Array.isArray(spec)) throw new Error("The specification must be a JSON object.");
      if (Array.isArray(spec.functionspecs)) {
        const graph = await session.call("submitworkflowspecmsg", { spec });
        report.ok(`Submitted workflow ${graph.processgraphid}.`);
        go(`#/workflow/${graph.processgraphid}`);
      } else {
        await submitSpec(spec);
      }
    };
    const formButton = button("Submit", () => submitSpec(fromForm()), { report, kind: "primary" });
    formButton.id = "submit-form";
    const jsonButton = button("Submit JSON", submitJson, { report, kind: "primary" });
    jsonButton.id = "submit-json";
    add(view, 
      h("h1", null, "Submit"),
      report,
      section("Function spec", form, formButton),
      section(
        "As JSON",
        h(
          "p",
          { class: "hint" },
          "A function spec, or a workflow spec (an object with functionspecs; a step's ",
          "conditions.dependencies name the nodes it waits for).",
        ),
        json,
        h("div", { class: "row" }, jsonButton),
      ),
    );
    return null;
  },
};
