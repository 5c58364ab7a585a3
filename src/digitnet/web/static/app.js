// digitnet's drawing page: draw on the canvas, send it to /api/predict while drawing, show what the
// network read, saw and computed. Plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const strokes = [];                 // each stroke a list of [x, y] points in canvas pixels: undo drops one
let upload = null;                  // an uploaded image under the strokes: {file, picture (or null)}
let drawing = null, pointer = null; // the stroke under way, and the pointer (mouse, pen, finger) drawing it
let timer = null, inFlight = false, again = false;
let generation = 0;                 // counts clears, undos and uploads: an answer about an older pad is dropped
let collecting = false;
const CELL = 10;                    // pixels per unit in the activation maps
const SIZE = 280;                   // the pad's side in CSS pixels: the strokes' coordinates

function sharpen() {                // as many canvas pixels as screen pixels (up to 2 per CSS pixel): crisp ink
  const scale = Math.min(2, Math.max(1, window.devicePixelRatio || 1));
  pad.width = pad.height = Math.round(SIZE * scale);
  ink.setTransform(scale, 0, 0, scale, 0, 0);
}

function clearPad() {
  ink.fillStyle = "white";
  ink.fillRect(0, 0, SIZE, SIZE);
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
  if (upload && upload.picture) {    // shown on the pad, fitted, so that "wrong?" saves what was read
    const scale = Math.min(SIZE / upload.picture.width, SIZE / upload.picture.height);
    ink.drawImage(upload.picture, 0, 0, upload.picture.width * scale, upload.picture.height * scale);
  }
  strokes.forEach(drawStroke);
}

function point(event) {              // the pad's coordinates (0 to SIZE), inside its border
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left - pad.clientLeft) * SIZE / pad.clientWidth,
          (event.clientY - box.top - pad.clientTop) * SIZE / pad.clientHeight];
}

pad.addEventListener("pointerdown", (event) => {
  if (drawing || !event.isPrimary || event.button !== 0) return;   // one finger, the main button
  pad.setPointerCapture(event.pointerId);
  pointer = event.pointerId;
  drawing = [point(event)];
  strokes.push(drawing);
  drawStroke(drawing);
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing || event.pointerId !== pointer) return;
  drawing.push(point(event));
  drawStroke(drawing.slice(-2));
  soon();
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, (event) => {
    if (!drawing || event.pointerId !== pointer) return;
    drawing = null;
    clearTimeout(timer);
    timer = null;
    predict();
  });
}

function soon() {                    // at most one request every 150 ms while drawing
  if (timer === null) timer = setTimeout(() => { timer = null; predict(); }, 150);
}

function replaced() {                // the pad no longer shows what earlier requests asked about
  generation += 1;
  clearTimeout(timer);
  timer = null;
  redraw();
  predict();
}

function request() {                 // the uploaded file as it was, or the pad as drawn
  if (upload && strokes.length === 0) {
    const form = new FormData();
    form.append("file", upload.file);
    return { method: "POST", body: form };
  }
  return { method: "POST", headers: { "Content-Type": "application/json" },
           body: JSON.stringify({ image: padImage() }) };
}

// What is sent: the pad at SIZE x SIZE pixels whatever the screen, since the server's time grows with the
// pixels it reads (a 560-pixel drawing takes it 4 times as long as a 280-pixel one).
function padImage() {
  const small = document.createElement("canvas");
  small.width = small.height = SIZE;
  small.getContext("2d").drawImage(pad, 0, 0, SIZE, SIZE);
  return small.toDataURL("image/png");
}

async function predict() {           // one request at a time; a change meanwhile is asked about next
  if (strokes.length === 0 && !upload) return showNothing();
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    await ask(request(), generation);
  } finally {
    inFlight = false;
    if (again) { again = false; predict(); }
  }
}

async function ask(request, asked) {
  let response, answer = null;
  try {
    response = await fetch("/api/predict", request);
  } catch (error) {
    if (asked === generation) failed(`the server does not answer (${error})`);
    return;
  }
  try { answer = await response.json(); } catch (error) { /* not JSON: a proxy's or the server's error page */ }
  if (asked !== generation) return;                  // cleared, undone or replaced since it was asked
  if (response.ok && answer) return show(answer);
  failed((answer && answer.error) || `server error ${response.status}`);
}

function say(text) { document.getElementById("status").textContent = text; }

function failed(text) { showNothing(); say(text); }

function showNothing() {
  document.getElementById("prediction").textContent = "?";
  document.getElementById("confidence").textContent = "";
  document.getElementById("bars").replaceChildren();
  document.getElementById("layers").replaceChildren();
  document.getElementById("seen").getContext("2d").clearRect(0, 0, 28, 28);
  document.getElementById("wrong").disabled = true;
  showLabels(false);
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
  const asked = `${layer}/${unit}`;
  if (shownUnit === asked) return;
  shownUnit = asked;
  let answer = null;
  try {
    answer = await (await fetch(`/api/weights/${layer}/${unit}`)).json();
  } catch (error) {
    if (shownUnit === asked) shownUnit = null;          // asked again on the next hover
    return say(`the server does not answer (${error})`);
  }
  if (shownUnit !== asked || !answer.weights) return;   // another unit was asked about since
  const top = Math.max(...answer.weights.map(Math.abs), 1e-6);
  const [width, height] = answer.shape.length === 2 ? answer.shape : grid(answer.weights.length);
  const values = answer.weights.map((w) => w / top).concat(Array(width * height - answer.weights.length).fill(0));
  document.getElementById("weights").hidden = false;
  document.getElementById("weights-title").textContent =
    `unit ${unit} of layer ${layer}: its ${answer.weights.length} incoming weights`;
  paint(document.getElementById("weights-image"), values, width, height, signed);
}

document.getElementById("undo").addEventListener("click", () => {
  if (strokes.length) strokes.pop(); else upload = null;      // the strokes first, then the uploaded image
  replaced();
});
document.getElementById("clear").addEventListener("click", () => { strokes.length = 0; upload = null; replaced(); });
document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";                                    // the same file may be chosen again
  if (!file) return;
  strokes.length = 0;
  upload = { file, picture: await createImageBitmap(file).catch(() => null) };   // null: the server may still read it
  replaced();
});
document.getElementById("choose").addEventListener("click", () => document.getElementById("upload").click());

function showLabels(shown) {
  document.getElementById("labels").hidden = !shown;
  document.getElementById("wrong").setAttribute("aria-expanded", String(shown));
}

document.getElementById("wrong").addEventListener("click", () => {
  showLabels(document.getElementById("labels").hidden);
});
for (let digit = 0; digit <= 9; digit++) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = digit;
  button.setAttribute("aria-label", `it is a ${digit}`);
  button.addEventListener("click", () => save(digit));
  document.getElementById("labels").append(button);
}

async function save(digit) {         // the pad as it is, with the right digit, into serve --collect's folder
  showLabels(false);
  let response, answer = null;
  try {
    response = await fetch("/api/collect", { method: "POST", headers: { "Content-Type": "application/json" },
                                             body: JSON.stringify({ image: padImage(), label: digit }) });
    answer = await response.json();
  } catch (error) {
    return say(response ? `could not save: server error ${response.status}` : `could not save: the server does ` +
               `not answer (${error})`);
  }
  say(response.ok ? `saved as a ${digit}: ${answer.saved.split("/").pop()}` : `could not save: ${answer.error}`);
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

sharpen();
clearPad();
describeModel();
