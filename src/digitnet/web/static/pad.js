// The drawing pad: what is on it (strokes, over an uploaded picture) and the image it makes of them.
// Drawing only, no requests: app.js sends that image and answers the pointer. Loaded before app.js.
"use strict";

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const SIZE = 280;                   // the pad's side in CSS pixels: the strokes' coordinates
const LARGEST = 512;                // pixels: a larger picture is sent at this size, the size the server reads it at
const strokes = [];                 // each stroke a list of [x, y] points in pad coordinates: undo drops one
let upload = null;                  // an uploaded image under the strokes: {file, picture (or null)}

function sharpen() {                // as many canvas pixels as screen pixels (up to 2 per CSS pixel): crisp ink
  const ratio = window.devicePixelRatio || 1, scale = Math.min(2, Math.max(1, ratio));
  pad.width = pad.height = Math.round(SIZE * scale);
  ink.setTransform(scale, 0, 0, scale, 0, 0);
  matchMedia(`(resolution: ${ratio}dppx)`).addEventListener("change", () => { sharpen(); redraw(); }, { once: true });
}                                   // (zoom, or the window moved to another screen: sharpened again)

function clearPad() {
  ink.fillStyle = "white";
  ink.fillRect(0, 0, SIZE, SIZE);
}

function area() {                    // the part of the pad that is the image: all of it, or the uploaded picture
  if (!upload || !upload.picture) return { x: 0, y: 0, w: SIZE, h: SIZE };
  const scale = Math.min(SIZE / upload.picture.width, SIZE / upload.picture.height);
  const w = upload.picture.width * scale, h = upload.picture.height * scale;
  return { x: (SIZE - w) / 2, y: (SIZE - h) / 2, w, h };         // fitted and centred
}

function drawStroke(points) {
  const { x, y, w, h } = area();
  ink.save();
  ink.beginPath();
  ink.rect(x, y, w, h);
  ink.clip();                        // ink only on the image: what is sent is what is seen
  ink.strokeStyle = "black";
  ink.lineWidth = 18;
  ink.lineCap = ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(points[0][0], points[0][1]);
  for (const [px, py] of points) ink.lineTo(px, py);
  if (points.length === 1) ink.lineTo(points[0][0] + 0.1, points[0][1]);     // a dot
  ink.stroke();
  ink.restore();
}

function redraw() {
  clearPad();
  if (upload && upload.picture) {    // an uploaded picture, with gray around it: not part of the image
    const { x, y, w, h } = area();
    ink.fillStyle = "#d0d0d0";
    ink.fillRect(0, 0, SIZE, SIZE);
    ink.drawImage(upload.picture, x, y, w, h);
  }
  strokes.forEach(drawStroke);
}

function point(event) {              // the pad's coordinates (0 to SIZE), inside its border
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left - pad.clientLeft) * SIZE / pad.clientWidth,
          (event.clientY - box.top - pad.clientTop) * SIZE / pad.clientHeight];
}

function image() {                   // what the page reads and "wrong?" saves: the picture alone, or the pad's image
  return upload && upload.picture && strokes.length === 0 ? pictureImage() : padImage();
}

// The pad's image at SIZE pixels per side whatever the screen, since the server's time grows with the pixels
// it reads (a 560-pixel drawing takes it 4 times as long as a 280-pixel one); with an uploaded picture, the
// part of the pad that the picture covers.
function padImage() {
  const { x, y, w, h } = area(), ratio = pad.width / SIZE;
  return snapshot(pad, [x * ratio, y * ratio, w * ratio, h * ratio], w, h);
}

function pictureImage() {            // the uploaded picture, at most LARGEST pixels on its longer side
  const picture = upload.picture, scale = Math.min(1, LARGEST / Math.max(picture.width, picture.height));
  return snapshot(picture, [0, 0, picture.width, picture.height], picture.width * scale, picture.height * scale);
}

function snapshot(source, box, width, height) {   // a PNG data URL of `box` [x, y, w, h] of a canvas or picture
  const copy = document.createElement("canvas");
  copy.width = Math.max(1, Math.round(width));
  copy.height = Math.max(1, Math.round(height));
  const context = copy.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(source, ...box, 0, 0, copy.width, copy.height);
  return copy.toDataURL("image/png");
}
