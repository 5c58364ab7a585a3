// digitnet's drawing page: draw on the canvas, send it to /api/predict while drawing, show what the
// network read, saw and computed. Plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const strokes = [];                 // each stroke a list of [x, y] points in canvas pixels: undo drops one
let drawing = null;                 // the stroke under way
let timer = null, inFlight = false, again = false;
let collecting = false;
const CELL = 10;                    // pixels per unit in the activation maps

function clearPad() {
  ink.fillStyle = "white";
  ink.fillRect(0, 0, pad.width, pad.height);
}

function drawStroke(points) {
  ink.strokeStyle = "black";
  ink.lineWidth = 18;
  ink.lineCap = ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points) ink.lineTo(x, y);
  if (points.length === 1) ink.lineTo(points[0][0] + 0.1, points[0][1]);     // a dot
  ink.stroke();
}

function redraw() {
  clearPad();
  strokes.forEach(drawStroke);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  pad.setPointerCapture(event.pointerId);
  drawing = [point(event)];
  strokes.push(drawing);
  drawStroke(drawing);
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  drawing.push(point(event));
  drawStroke(drawing.slice(-2));
  soon();
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, () => {
    if (!drawing) return;
    drawing = null;
    predict();
  });
}

function soon() {                    // at most one request every 150 ms while drawing
  if (timer === null) timer = setTimeout(() => { timer = null; predict(); }, 150);
}

async function predict() {
  if (strokes.length === 0) return showNothing();
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    await ask({ method: "POST", headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ image: pad.toDataURL("image/png") }) });
  } finally {
    inFlight = false;
    if (again) { again = false; predict(); }
  }
}

async function ask(request) {
  try {
    const response = await fetch("/api/predict", request);
    const answer = await response.json();
    if (!response.ok) return say(answer.error || `error ${response.status}`);
    show(answer);
  } catch (error) {
    say(`the server does not answer (${error})`);
  }
}

function say(text) { document.getElementById("status").textContent = text; }

function showNothing() {
  document.getElementById("prediction").textContent = "?";
  document.getElementById("confidence").textContent = "";
  document.getElementById("bars").replaceChildren();
  document.getElementById("layers").replaceChildren();
  document.getElementById("seen").getContext("2d").clearRect(0, 0, 28, 28);
  say("");
}

function show(answer) {
  const best = answer.prediction;
  document.getElementById("prediction").textContent = best;
  document.getElementById("confidence").textContent = `${(100 * answer.probabilities[best]).toFixed(1)}% sure`;
  const bars = answer.probabilities.map((p, digit) => {
    const item = document.createElement("li");
    item.className = digit === best ? "best" : "";
    item.innerHTML = `<span class="digit">${digit}</span><span class="bar" style="width:${(200 * p).toFixed(1)}px">` +
                     `</span><span class="value">${(100 * p).toFixed(1)}%</span>`;
    return item;
  });
  document.getElementById("bars").replaceChildren(...bars);
  paint(document.getElementById("seen"), answer.input.flat(), 28, 28, gray);
  showLayers(answer.hidden);
  say(`read in ${answer.milliseconds.toFixed(1)} ms on the server`);
  document.getElementById("wrong").disabled = !collecting;
}

function gray(v) { const g = Math.round(255 * v); return [g, g, g]; }

function heat(v) { const g = Math.round(255 * Math.min(1, v)); return [g, Math.round(g * 0.8), 40]; }

function signed(v) { const g = Math.round(255 * Math.min(1, Math.abs(v))); return v > 0 ? [255, 255 - g, 255 - g] : [255 - g, 255 - g, 255]; }

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

function showLayers(hidden) {
  const maps = hidden.map((values, k) => {
    const [columns, rows] = grid(values.length);
    const top = Math.max(...values, 1e-6);
    const padded = values.map((v) => v / top).concat(Array(columns * rows - values.length).fill(0));
    const box = document.createElement("div");
    box.className = "layer";
    box.innerHTML = `<div class="quiet">layer ${k + 1}: ${values.length} units</div>`;
    const canvas = document.createElement("canvas");
    paint(canvas, padded, columns, rows, heat);
    canvas.style.width = `${columns * CELL}px`;
    const pick = (event) => {
      const box = canvas.getBoundingClientRect();
      const unit = Math.floor((event.clientY - box.top) / box.height * rows) * columns +
                   Math.floor((event.clientX - box.left) / box.width * columns);
      if (unit < values.length) showWeights(k + 1, unit);
    };
    canvas.addEventListener("pointermove", pick);
    canvas.addEventListener("pointerdown", pick);
    box.append(canvas);
    return box;
  });
  document.getElementById("layers").replaceChildren(...maps);
}

let shownUnit = null;
async function showWeights(layer, unit) {
  if (shownUnit === `${layer}/${unit}`) return;
  shownUnit = `${layer}/${unit}`;
  const answer = await (await fetch(`/api/weights/${layer}/${unit}`)).json();
  if (!answer.weights) return;
  const top = Math.max(...answer.weights.map(Math.abs), 1e-6);
  const [width, height] = answer.shape.length === 2 ? answer.shape : grid(answer.weights.length);
  const values = answer.weights.map((w) => w / top).concat(Array(width * height - answer.weights.length).fill(0));
  document.getElementById("weights").hidden = false;
  document.getElementById("weights-title").textContent =
    `unit ${unit} of layer ${layer}: its ${answer.weights.length} incoming weights`;
  paint(document.getElementById("weights-image"), values, width, height, signed);
}

document.getElementById("undo").addEventListener("click", () => { strokes.pop(); redraw(); predict(); });
document.getElementById("clear").addEventListener("click", () => { strokes.length = 0; redraw(); predict(); });
document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  strokes.length = 0;
  const picture = await createImageBitmap(file).catch(() => null);
  clearPad();
  if (picture) {                     // shown on the pad, fitted, so that "wrong?" saves what was read
    const scale = Math.min(pad.width / picture.width, pad.height / picture.height);
    ink.drawImage(picture, 0, 0, picture.width * scale, picture.height * scale);
  }
  await ask({ method: "POST", body: form });
  event.target.value = "";
});

document.getElementById("wrong").addEventListener("click", () => {
  const labels = document.getElementById("labels");
  labels.hidden = !labels.hidden;
});
for (let digit = 0; digit <= 9; digit++) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = digit;
  button.addEventListener("click", async () => {
    const response = await fetch("/api/collect", { method: "POST", headers: { "Content-Type": "application/json" },
                                                   body: JSON.stringify({ image: pad.toDataURL("image/png"), label: digit }) });
    const answer = await response.json();
    say(response.ok ? `saved as a ${digit}: ${answer.saved}` : answer.error);
    document.getElementById("labels").hidden = true;
  });
  document.getElementById("labels").append(button);
}

async function describeModel() {
  try {
    const model = await (await fetch("/api/model")).json();
    const accuracy = model.metrics.test_accuracy;
    document.getElementById("model").textContent =
      `network ${model.sizes.join("-")}, ${model.parameters.toLocaleString()} parameters` +
      (accuracy === undefined ? "" : `, ${(100 * accuracy).toFixed(2)}% on the MNIST test set`);
    collecting = model.collecting;
  } catch (error) {
    say(`the server does not answer (${error})`);
  }
}

clearPad();
describeModel();
