// ColonyFS metadata: labels, the files of a label and their revisions, snapshots. The bytes live
// in S3 and never pass through the server (nor this page); credentials in references are not shown.

import { add, button, fill, formatTime, h, notice, section, shortId, table } from "../dom.js";
import { session } from "../session.js";

function size(bytes) {
  const n = Number(bytes);
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

export default {
  title: "Files",
  nav: "Files",
  render(view, { query }) {
    const label = query.get("label") || "";
    const file = query.get("file") || "";
    const report = notice();
    const labelsBox = h("div", { id: "label-list" }, h("p", { class: "empty" }, "Loading…"));
    const filesBox = h("div", { id: "file-list" });
    const revisionsBox = h("div", { id: "revision-list" });
    const snapshotsBox = h("div", { id: "snapshot-list" });
    const snapForm = h(
      "form",
      { class: "form", id: "snapshot-form" },
      h("label", null, "Label (prefix)", h("input", { name: "label", value: label })),
      h("label", null, "Snapshot name", h("input", { name: "name" })),
    );
    snapForm.addEventListener("submit", (event) => event.preventDefault());
    add(view, 
      h("h1", null, "Files"),
      h("p", { class: "hint" }, "Metadata only: file contents are in the colony's S3 storage (colonies fs)."),
      report,
      h(
        "div",
        { class: "columns" },
        section("Labels", labelsBox),
        section(label ? `Files in ${label}` : "Files", filesBox),
      ),
      file ? section(`Revisions of ${file}`, revisionsBox) : null,
      section(
        "Snapshots",
        snapshotsBox,
        h("h3", null, "Create a snapshot"),
        snapForm,
        button("Create snapshot", async () => {
          const f = snapForm.elements;
          await session.call("createsnapshotmsg", { colonyname: session.colony, label: f.label.value.trim(), name: f.name.value.trim() });
          report.ok(`Created snapshot ${f.name.value.trim()}.`);
          await loadSnapshots();
        }, { report }),
      ),
    );
    const loadLabels = async () => {
      const labels = await session.call("getfilelabelsmsg", { colonyname: session.colony, name: "", exact: false });
      fill(labelsBox, 
        table(
          [
            ["Label", (l) => h("a", { href: `#/files?label=${encodeURIComponent(l.name)}` }, l.name)],
            ["Files", (l) => String(l.files)],
          ],
          labels,
          { empty: "No files." },
        ),
      );
    };
    const loadFiles = async () => {
      if (!label) {
        fill(filesBox, h("p", { class: "empty" }, "Choose a label."));
        return;
      }
      const list = await session.call("getfilesmsg", { colonyname: session.colony, label });
      fill(filesBox, 
        table(
          [
            ["Name", (f) => h("a", { href: `#/files?label=${encodeURIComponent(label)}&file=${encodeURIComponent(f.name)}` }, f.name)],
            ["Size", (f) => size(f.size)],
            ["Checksum", (f) => h("code", { title: f.checksum }, shortId(f.checksum))],
          ],
          list,
          { empty: "No files in this label." },
        ),
      );
    };
    const loadRevisions = async () => {
      if (!file) return;
      const revisions = await session.call("getfilemsg", { colonyname: session.colony, fileid: "", label, name: file, latest: false });
      fill(revisionsBox, 
        table(
          [
            ["Revision", (f) => String(f.sequencenr)],
            ["Size", (f) => size(f.size)],
            ["Checksum", (f) => h("code", null, `${f.checksumalg || ""} ${f.checksum}`)],
            ["Added", (f) => formatTime(f.added)],
            ["Stored at", (f) => `${f.ref?.protocol || ""}://${f.ref?.s3object?.bucket || ""}/${f.ref?.s3object?.object || ""}`],
            ["File ID", (f) => h("code", { title: f.fileid }, shortId(f.fileid))],
          ],
          revisions,
        ),
      );
    };
    const loadSnapshots = async () => {
      const snapshots = await session.call("getsnapshotsmsg", { colonyname: session.colony });
      fill(snapshotsBox, 
        table(
          [
            ["Name", (s) => s.name],
            ["Label", (s) => s.label],
            ["Files", (s) => String((s.fileids || []).length)],
            ["Taken", (s) => formatTime(s.added)],
            ["", (s) => button("Remove", async () => {
              await session.call("removesnapshotmsg", { colonyname: session.colony, snapshotid: s.snapshotid, name: "" });
              await loadSnapshots();
            }, { report, kind: "small danger" })],
          ],
          snapshots,
          { empty: "No snapshots." },
        ),
      );
    };
    for (const load of [loadLabels, loadFiles, loadRevisions, loadSnapshots]) load().catch((err) => report.show(err));
    return null;
  },
};
