// How the page draws what the network computed: activations and weights as small images.
// Drawing only, no requests: app.js asks the server and hands the answers here. Loaded before app.js.
"use strict";

const CELL = 10;                    // pixels per unit in the activation maps

function gray(v) { const g = Math.round(255 * v); return [g, g, g]; }

function heat(v) { const g = Math.round(255 * Math.min(1, v)); return [g, Math.round(g * 0.8), 40]; }

function signed(v) {
  const g = Math.round(255 * Math.min(1, Math.abs(v)));
  return v > 0 ? [255, 255 - g, 255 - g] : [255 - g, 255 - g, 255];
}

function paint(canvas, values, width, height, colour) {
  canvas.width = width;
  canvas.height = height;
  const image = canvas.getContext("2d").createImageData(width, height);
  values.forEach((v, i) => {
    const [r, g, b] = colour(v);
    image.data.set([r, g, b, 255], 4 * i);
  });
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function grid(n) { const columns = Math.ceil(Math.sqrt(n)); return [columns, Math.ceil(n / columns)]; }

function showLayers(hidden, pickUnit) {    // pickUnit(layer, unit): a unit hovered, tapped or chosen by keyboard
  const layers = document.getElementById("layers");
  const same = layers.children.length === hidden.length &&
               hidden.every((values, k) => layers.children[k].dataset.units === String(values.length));
  if (!same) layers.replaceChildren(...hidden.map((values, k) => layerMap(k + 1, values.length, pickUnit)));
  hidden.forEach((values, k) => {               // the maps stay, new values in them: a focused one keeps its focus
    const [columns, rows] = grid(values.length);
    const top = Math.max(...values, 1e-6);
    const padded = values.map((v) => v / top).concat(Array(columns * rows - values.length).fill(0));
    paint(layers.children[k].querySelector("canvas"), padded, columns, rows, heat);
  });
}

function layerMap(layer, units, pickUnit) {   // a layer's box: its title and its map, one square per unit
  const [columns, rows] = grid(units);
  const box = document.createElement("div");
  box.className = "layer";
  box.dataset.units = units;
  box.innerHTML = `<div class="quiet">layer ${layer}: ${units} units</div>`;
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `the activations of layer ${layer}'s ${units} units; ` +
                                    "the arrow keys pick a unit and show its weights");
  canvas.tabIndex = 0;
  canvas.style.width = `${columns * CELL}px`;
  let picked = null;
  const pick = (unit) => { if (unit >= 0 && unit < units) { picked = unit; pickUnit(layer, unit); } };
  const pointed = (event) => {
    const box = canvas.getBoundingClientRect();
    pick(Math.floor((event.clientY - box.top) / box.height * rows) * columns +
         Math.floor((event.clientX - box.left) / box.width * columns));
  };
  canvas.addEventListener("pointermove", pointed);
  canvas.addEventListener("pointerdown", pointed);
  canvas.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns }[event.key];
    if (step === undefined) return;
    event.preventDefault();                     // the arrows move through the units, not the page
    pick(picked === null ? 0 : picked + step);
  });
  box.append(canvas);
  return box;
}

function drawWeights(layer, unit, answer) {   // a unit's incoming weights, as /api/weights answered them
  const top = Math.max(...answer.weights.map(Math.abs), 1e-6);
  const [width, height] = answer.shape.length === 2 ? answer.shape : grid(answer.weights.length);
  const values = answer.weights.map((w) => w / top).concat(Array(width * height - answer.weights.length).fill(0));
  document.getElementById("weights").hidden = false;
  document.getElementById("weights-title").textContent =
    `unit ${unit} of layer ${layer}: its ${answer.weights.length} incoming weights`;
  paint(document.getElementById("weights-image"), values, width, height, signed);
}
