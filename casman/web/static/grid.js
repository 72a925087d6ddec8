/* Grid page: clicking a cell fetches /api/antenna/<grid code> and fills the detail panel.
   The kernel index comes from the cell itself (data-kernel-index, absent when unmapped). */
"use strict";

(function () {
  const { el, list, open } = window.casmanPanel;

  function signal(pol, info) {
    const section = el("section", { class: "signal", "data-pol": pol });
    section.append(el("h3", {}, pol));
    if (!info) {
      section.append(el("p", {}, "no antenna"));
      return section;
    }
    const board = info.board || {};
    section.append(list([
      ["SNAP port", info.snap_port_name ? `${info.snap_port_name} (${info.snap_port})` : "not connected", "snap-port"],
      ["board", board.board, "board"],
      ["serial", board.serial_number, "serial"],
      ["feng id", board.feng_id, "feng-id"],
      ["MAC", board.mac_address, "mac"],
      ["IP", board.ip_address, "ip"],
      ["packet index", info.packet_index, "packet-index"],
      ["chain", (info.parts || []).join(" → "), "chain"],
    ]));
    if (info.problems && info.problems.length) {
      const ul = el("ul", { class: "problems" });
      info.problems.forEach((problem) => ul.append(el("li", {}, problem)));
      section.append(ul);
    }
    return section;
  }

  function render(report, kernelIndex) {
    const c = report.coordinates || {};
    const nodes = [list([
      ["grid code", report.grid_code, "grid-code"],
      ["kernel index", kernelIndex !== undefined ? kernelIndex : "not mapped", "kernel-index"],
      ["antenna", report.antenna_number || "none assigned", "antenna"],
      ["latitude", c.latitude, "latitude"],
      ["longitude", c.longitude, "longitude"],
      ["height", c.height !== undefined && c.height !== null ? `${c.height} m` : null, "height"],
    ])];
    if (report.antenna_number) {
      ["P1", "P2"].forEach((pol) => nodes.push(signal(pol, (report.signals || {})[pol])));
    }
    open(report.grid_code, nodes);
  }

  async function select(cell) {
    document.querySelectorAll(".cell.selected").forEach((n) => n.classList.remove("selected"));
    cell.classList.add("selected");
    const code = cell.dataset.gridCode;
    try {
      const response = await fetch(`/api/antenna/${encodeURIComponent(code)}`, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) {
        open(code, [el("p", { class: "warn", "data-field": "error" }, body.error || response.statusText)]);
        return;
      }
      render(body, cell.dataset.kernelIndex);
    } catch (error) {
      open(code, [el("p", { class: "warn", "data-field": "error" }, `could not load ${code}: ${error}`)]);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const grid = document.getElementById("grid");
    if (!grid) return;
    grid.addEventListener("click", (event) => {
      const cell = event.target.closest("button.cell");
      if (cell) select(cell);
    });
    const chosen = grid.dataset.selected;
    if (chosen) {
      const cell = grid.querySelector(`[data-grid-code="${chosen}"]`);
      if (cell) {
        cell.scrollIntoView({ block: "center" });
        select(cell);
      }
    }
  });
})();
