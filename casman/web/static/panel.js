/* Shared detail-panel helpers. Everything is built with textContent: data never becomes HTML. */
"use strict";

window.casmanPanel = (function () {
  const panel = () => document.getElementById("detail-panel");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function show(value) {
    return value === null || value === undefined || value === "" ? "—" : String(value);
  }

  /* rows: [label, value, field] → a <dl> whose <dd>s carry data-field for tests and styling */
  function list(rows) {
    const dl = el("dl", { class: "facts" });
    rows.forEach(([label, value, field]) => {
      const wrap = el("div");
      wrap.append(el("dt", {}, label), el("dd", field ? { "data-field": field } : {}, show(value)));
      dl.append(wrap);
    });
    return dl;
  }

  function open(title, nodes) {
    const p = panel();
    p.querySelector('[data-field="title"]').textContent = title;
    const body = p.querySelector('[data-field="body"]');
    body.replaceChildren(...nodes);
    p.hidden = false;
    p.classList.add("open");
  }

  function close() {
    const p = panel();
    p.hidden = true;
    p.classList.remove("open");
    document.querySelectorAll(".selected").forEach((n) => n.classList.remove("selected"));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("detail-close");
    if (button) button.addEventListener("click", close);
    document.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
  });

  return { el, list, open, close, show };
})();
