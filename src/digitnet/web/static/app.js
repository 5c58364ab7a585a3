// digitnet's drawing page: draw on the pad (pad.js), send it to /api/predict while drawing, show what the
// network read, saw and computed (drawn by view.js). Plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

let drawing = null, pointer = null; // the stroke under way, and the pointer (mouse, pen, finger) drawing it
let timer = null, inFlight = false, again = false;
let generation = 0;                 // counts clears, undos and uploads: an answer about an older pad is dropped
let uploads = 0;                    // counts uploads, clears and undos: a slow decode that lost the race is dropped
const WAIT = 10000;                 // milliseconds before a request that has not answered counts as failed
let collecting = false;
const SENT_AS_IS = 1.5e6;           // bytes: an uploaded file up to this size is sent as it is (the server takes 2 MB)
const SENT_PIXELS = 16e6;           // and up to this many pixels (the server reads 40 million at most)
const BODY_LIMIT = 2 * 1024 * 1024; // bytes: the most the server takes
let retryDelay = 1000, retry = null, retrySeconds = 0;   // ms before asking a silent server again (doubles);
                                                         // the pending retry and its delay in seconds
let announced = null;               // the digit a screen reader was last told
let savedPad = null;                // the pad last saved as a correction (padState): "Wrong?" is off for it

pad.addEventListener("pointerdown", (event) => {
  if (drawing || !event.isPrimary || event.button !== 0) return;   // one finger, the main button
  if (upload && !upload.picture) { upload = null; replaced(); }     // an image this browser cannot show: drawn over
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
  if (drawing && pad.hasPointerCapture(pointer)) pad.releasePointerCapture(pointer);
  drawing = null;
  redraw();
  predict();
}

function padState() { return `${generation}/${strokes.length}`; }   // strokes are only added within a generation

function request() {                 // the uploaded file as it was (a picture if it is large), or the pad as drawn
  const small = upload && upload.picture && upload.file.size <= SENT_AS_IS &&
                upload.picture.width * upload.picture.height <= SENT_PIXELS;
  if (upload && strokes.length === 0 && (small || !upload.picture)) {
    const form = new FormData();
    form.append("file", upload.file);
    return { method: "POST", body: form };
  }
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ image: image() }) };
}

async function predict() {           // one request at a time; a change meanwhile is asked about next
  if (strokes.length === 0 && !upload) return showNothing();
  if (upload && !upload.picture && strokes.length === 0 && upload.file.size > BODY_LIMIT) {
    return failed("this browser cannot read this file as an image, and at over 2 MB it is too large to send: " +
                  "choose a PNG or JPEG");
  }
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    await ask(request(), generation);
  } finally {
    inFlight = false;
    if (again) { again = false; predict(); }
  }
}

// {response, answer} of a request, answer null when the body is not JSON (a proxy's error page); it fails
// (rejects) when the server cannot be reached or has not answered within WAIT milliseconds.
async function call(url, options = {}) {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), WAIT);
  try {
    const response = await fetch(url, { ...options, signal: stop.signal });
    const answer = await response.json().catch((error) => { if (stop.signal.aborted) throw error; return null; });
    return { response, answer };
  } finally {
    clearTimeout(timer);
  }
}

function unreachable(error) {
  return error.name === "AbortError" ? `the server did not answer within ${WAIT / 1000} s`
                                     : "the server does not answer";
}

function retryLater() {              // the server went away: ask again, less often each time, until it answers
  if (retry === null) {               // one retry at a time, however many requests failed meanwhile
    retry = setTimeout(() => { retry = null; predict(); }, retryDelay);
    retrySeconds = retryDelay / 1000;
    retryDelay = Math.min(2 * retryDelay, 16000);
  }
  return retrySeconds;
}

async function ask(options, asked) {
  let response, answer;
  const slow = setTimeout(() => { if (asked === generation) timing("reading..."); }, 300);
  try {
    ({ response, answer } = await call("/api/predict", options));
  } catch (error) {
    if (asked === generation) failed(`${unreachable(error)}; asking again in ${retryLater()} s`);
    return;
  } finally {
    clearTimeout(slow);
  }
  retryDelay = 1000;                                 // it answers again: no retry pending
  clearTimeout(retry);
  retry = null;
  if (asked !== generation) return;                  // cleared, undone or replaced since it was asked
  if (response.ok && answer) return show(answer);
  failed((answer && answer.error) || `server error ${response.status}`);
}

function say(text) { document.getElementById("status").textContent = text; }     // read out by screen readers

function timing(text) { document.getElementById("timing").textContent = text; }  // not read out: it changes often

function announce(digit, sure) {     // the answer, read out when it changes, not at every request of a stroke
  if (digit === announced) return;
  announced = digit;
  document.getElementById("announce").textContent = digit === null ? "" : `reads ${digit}, ${sure} sure`;
}

function failed(text) { showNothing(); say(text); }

function showNothing() {
  document.getElementById("prediction").textContent = "?";
  document.getElementById("confidence").textContent = "";
  document.getElementById("bars").replaceChildren();
  document.getElementById("layers").replaceChildren();
  document.getElementById("seen").getContext("2d").clearRect(0, 0, 28, 28);
  const wrong = document.getElementById("wrong");
  if (wrong === document.activeElement || document.getElementById("labels").contains(document.activeElement)) {
    document.getElementById("undo").focus();            // not lost to the page when its button goes away
  }
  wrong.disabled = true;
  showLabels(false);
  say("");
  timing("");
  announce(null);
}

function show(answer) {
  const best = answer.prediction, sure = `${(100 * answer.probabilities[best]).toFixed(1)}%`;
  document.getElementById("prediction").textContent = best;
  document.getElementById("confidence").textContent = `${sure} sure`;
  announce(best, sure);
  const bars = answer.probabilities.map((p, digit) => {
    const item = document.createElement("li");
    item.className = digit === best ? "best" : "";
    item.innerHTML = `<span class="digit">${digit}</span><span class="bar" style="width:${(200 * p).toFixed(1)}px">` +
                     `</span><span class="value">${(100 * p).toFixed(1)}%</span>`;
    return item;
  });
  document.getElementById("bars").replaceChildren(...bars);
  paint(document.getElementById("seen"), answer.input.flat(), 28, 28, gray);
  showLayers(answer.hidden, showWeights);
  const unseen = upload && !upload.picture && strokes.length === 0;     // read, but not on the pad to be saved
  say(unseen ? "this browser cannot show this image: it was read as sent; drawing on the pad starts afresh" : "");
  timing(`read in ${answer.milliseconds.toFixed(1)} ms on the server`);
  document.getElementById("wrong").disabled = !collecting || unseen || savedPad === padState();   // saved once
}

let shownUnit = null;
async function showWeights(layer, unit) {
  const asked = `${layer}/${unit}`;
  if (shownUnit === asked) return;
  shownUnit = asked;
  let response, answer;
  try {
    ({ response, answer } = await call(`/api/weights/${layer}/${unit}`));
  } catch (error) {
    setTimeout(() => { if (shownUnit === asked) shownUnit = null; }, 2000);   // asked again, but not at once
    return say(unreachable(error));
  }
  if (shownUnit !== asked || !response.ok || !answer || !answer.weights) return;   // another unit since, or refused
  drawWeights(layer, unit, answer);
}

document.getElementById("undo").addEventListener("click", () => {
  uploads += 1;
  if (strokes.length) strokes.pop(); else upload = null;      // the strokes first, then the uploaded image
  replaced();
});
document.getElementById("clear").addEventListener("click", () => {
  uploads += 1;
  strokes.length = 0;
  upload = null;
  replaced();
});
document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";                                    // the same file may be chosen again
  if (!file) return;
  const mine = ++uploads;
  const picture = await createImageBitmap(file).catch(() => null);   // null: the server may still read it
  if (mine !== uploads) return;                               // cleared, undone or another image chosen since
  strokes.length = 0;
  upload = { file, picture };
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
document.addEventListener("keydown", (event) => {           // Escape closes the row of digits
  if (event.key === "Escape" && !document.getElementById("labels").hidden) {
    showLabels(false);
    document.getElementById("wrong").focus();
  }
});
for (let digit = 0; digit <= 9; digit++) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = digit;
  button.setAttribute("aria-label", `it is a ${digit}`);
  button.addEventListener("click", () => save(digit));
  document.getElementById("labels").append(button);
}

async function save(digit) {         // the image as it was read, with the right digit, into serve --collect's folder
  document.getElementById("wrong").focus();                   // where the keyboard was, before the digits go
  showLabels(false);
  let response, answer;
  const pad = padState();
  try {
    const body = JSON.stringify({ image: image(), label: digit });
    ({ response, answer } = await call("/api/collect", { method: "POST", body,
                                                          headers: { "Content-Type": "application/json" } }));
  } catch (error) {
    return say(`could not save: ${unreachable(error)}`);
  }
  if (!response.ok || !answer) {
    return say(`could not save: ${(answer && answer.error) || `server error ${response.status}`}`);
  }
  say(`saved as a ${digit}: ${answer.saved.split(/[\\/]/).pop()}`);
  savedPad = pad;                                             // "Wrong?" waits for the pad to change, even when
  document.getElementById("undo").focus();                    // the page asks about it again: the same drawing
  document.getElementById("wrong").disabled = true;           // is not saved twice
}

async function describeModel(delay = 1000) {   // the header; asked again, less often each time, until it comes
  try {
    const { answer: model } = await call("/api/model");
    const accuracy = model.metrics.test_accuracy;
    document.getElementById("model").textContent =
      `network ${model.sizes.join("-")}, ${model.parameters.toLocaleString()} parameters` +
      (accuracy === undefined ? "" : `, ${(100 * accuracy).toFixed(2)}% on the MNIST test set`);
    collecting = model.collecting;
    document.getElementById("correct").hidden = !collecting;   // without --collect, nowhere to save corrections
  } catch (error) {
    document.getElementById("model").textContent = `the model's description did not come; asking again in ` +
                                                   `${delay / 1000} s`;
    setTimeout(() => describeModel(Math.min(2 * delay, 16000)), delay);
  }
}

sharpen();
redraw();
describeModel();
