/* SNAP page: clicking a port shows its board's configuration and what reaches the port. */
"use strict";

(function () {
  const { el, list, open } = window.casmanPanel;

  function index(data) {
    const ports = new Map();
    data.chassis.forEach((chassis) => chassis.boards.forEach((board) => {
      board.ports.forEach((port) => ports.set(port.snap_port_name, { board, port }));
    }));
    return ports;
  }

  function render(board, port) {
    const config = board.config || {};
    const nodes = [];
    nodes.push(el("h3", {}, "Port"));
    nodes.push(list([
      ["SNAP port", `${port.snap_port_name} (${port.snap_port})`, "snap-port"],
      ["port", port.port, "port"],
      ["packet index", port.packet_index, "packet-index"],
      ["antenna", port.antenna || (port.connected_from ? "no antenna at the head of the chain" : "nothing connected"), "antenna"],
      ["polarization", port.polarization, "polarization"],
      ["grid code", port.grid_code, "grid-code"],
      ["connected from", port.connected_from, "connected-from"],
      ["chain", (port.chain || []).join(" → "), "chain"],
    ]));
    if (port.grid_code) {
      const paragraph = el("p");
      paragraph.append(el("a", { href: `/grid?q=${encodeURIComponent(port.grid_code)}`, "data-field": "grid-link" }, `Show ${port.grid_code} on the grid`));
      nodes.push(paragraph);
    }
    nodes.push(el("h3", {}, `Board ${board.board}`));
    nodes.push(board.config ? list([
      ["chassis", config.chassis, "chassis"],
      ["slot", config.slot, "slot"],
      ["serial", config.serial_number, "serial"],
      ["feng id", config.feng_id, "feng-id"],
      ["MAC", config.mac_address, "mac"],
      ["IP", config.ip_address, "ip"],
      ["notes", config.notes, "notes"],
    ]) : el("p", { class: "warn", "data-field": "serial" }, "not configured: load it with casman database load-snap-boards"));
    open(port.snap_port_name, nodes);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const source = document.getElementById("snap-data");
    if (!source) return;
    const ports = index(JSON.parse(source.textContent));
    document.querySelector("main").addEventListener("click", (event) => {
      const button = event.target.closest("button.port");
      if (!button) return;
      const found = ports.get(button.dataset.snapPort);
      if (!found) return;
      document.querySelectorAll(".port.selected").forEach((n) => n.classList.remove("selected"));
      button.classList.add("selected");
      render(found.board, found.port);
    });
  });
})();
