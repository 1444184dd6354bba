// Zoom and pan for the lineage page's graph: moves the SVG's viewBox (no inline script, no library).
// Buttons, the mouse wheel, dragging, and with the graph focused + / - / 0 and the arrow keys.
(function () {
  "use strict";
  var viewport = document.getElementById("lineage-viewport");
  var svg = viewport && viewport.querySelector("svg.lineage-graph");
  var controls = document.querySelector(".lineage-controls");
  if (!svg || !controls) { return; }
  var full = svg.getAttribute("viewBox").split(/\s+/).map(Number);
  var box = full.slice();
  var MIN_WIDTH = Math.min(full[2], 240);

  function apply() { svg.setAttribute("viewBox", box.map(function (v) { return v.toFixed(1); }).join(" ")); }

  function zoom(factor, cx, cy) {
    var width = Math.min(full[2], Math.max(MIN_WIDTH, box[2] * factor));
    var height = width * full[3] / full[2];
    if (cx === undefined) { cx = box[0] + box[2] / 2; cy = box[1] + box[3] / 2; }
    var rx = (cx - box[0]) / box[2], ry = (cy - box[1]) / box[3];
    box = [cx - rx * width, cy - ry * height, width, height];
    clamp();
    apply();
  }

  function pan(dx, dy) { box[0] += dx * box[2]; box[1] += dy * box[3]; clamp(); apply(); }

  function clamp() {
    box[0] = Math.min(Math.max(box[0], full[0]), full[0] + full[2] - box[2]);
    box[1] = Math.min(Math.max(box[1], full[1]), full[1] + full[3] - box[3]);
  }

  function reset() { box = full.slice(); apply(); }

  function toGraph(event) {
    var rect = svg.getBoundingClientRect();
    return [box[0] + (event.clientX - rect.left) / rect.width * box[2],
            box[1] + (event.clientY - rect.top) / rect.height * box[3]];
  }

  controls.hidden = false;
  controls.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    var z = button.getAttribute("data-zoom"), p = button.getAttribute("data-pan");
    if (z === "in") { zoom(0.8); } else if (z === "out") { zoom(1.25); } else if (z === "reset") { reset(); }
    if (p === "left") { pan(-0.2, 0); } else if (p === "right") { pan(0.2, 0); }
    else if (p === "up") { pan(0, -0.2); } else if (p === "down") { pan(0, 0.2); }
  });

  viewport.addEventListener("wheel", function (event) {
    event.preventDefault();
    var at = toGraph(event);
    zoom(event.deltaY < 0 ? 0.85 : 1 / 0.85, at[0], at[1]);
  }, { passive: false });

  viewport.addEventListener("keydown", function (event) {
    if (event.target !== viewport) { return; }  // keys on a focused node link keep their meaning
    var keys = { "+": [zoom, 0.8], "=": [zoom, 0.8], "-": [zoom, 1.25], "0": [reset] };
    var moves = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1] };
    if (keys[event.key]) { keys[event.key][0](keys[event.key][1]); event.preventDefault(); }
    else if (moves[event.key]) { pan(moves[event.key][0], moves[event.key][1]); event.preventDefault(); }
  });

  var drag = null;
  viewport.addEventListener("pointerdown", function (event) {
    if (event.button !== 0 || event.target.closest("a")) { return; }
    drag = { x: event.clientX, y: event.clientY, box: box.slice() };
    viewport.setPointerCapture(event.pointerId);
    viewport.classList.add("dragging");
  });
  viewport.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var rect = svg.getBoundingClientRect();
    box[0] = drag.box[0] - (event.clientX - drag.x) / rect.width * box[2];
    box[1] = drag.box[1] - (event.clientY - drag.y) / rect.height * box[3];
    clamp();
    apply();
  });
  function end() { drag = null; viewport.classList.remove("dragging"); }
  viewport.addEventListener("pointerup", end);
  viewport.addEventListener("pointercancel", end);
})();
