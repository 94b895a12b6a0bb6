// plots.js — plots drawn in the browser as SVG from data the kernel sent: a loss curve with a
// marker that moves, and a decision boundary (a heat map of the network's output over a grid of
// the plane, and its 0.5 contour). Only drawing happens here; every number comes from the kernel.
// Colours are CSS classes (see TRAINING_CSS in training.js), so the theme decides them.

const SVG_NS = "http://www.w3.org/2000/svg";

function svgElement(tag, attrs = {}, parent = null) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

function round(value) {
  return Math.round(value * 100) / 100;
}

// Tick values between low and high: about `count` of them at 1, 2 or 5 times a power of ten.
function niceTicks(low, high, count) {
  const raw = (high - low) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let t = Math.ceil(low / step) * step; t <= high + 1e-9; t += step) ticks.push(t);
  return ticks;
}

function powerLabel(exponent) {
  return exponent >= -3 && exponent <= 3 ? String(Number((10 ** exponent).toPrecision(1)))
    : `1e${exponent}`;
}

// The cost against the epoch, log scale, with a marker (dot and dashed line) at one epoch.
// Returns {svg, setMarker(epoch)}.
function lossCurve(parent, losses, { width = 250, height = 170, title = "cost C" } = {}) {
  const margin = { left: 42, right: 18, top: 16, bottom: 34 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const svg = svgElement("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "cg-loss", role: "img",
    "aria-label": "cost against epoch, log scale",
  }, parent);
  const positive = losses.filter((c) => c > 0);
  const lowExp = Math.floor(Math.log10(Math.min(...positive)));
  const highExp = Math.ceil(Math.log10(Math.max(...positive)));
  const span = Math.max(1, highExp - lowExp);
  const last = Math.max(1, losses.length - 1);
  const x = (epoch) => margin.left + (epoch / last) * plotW;
  const y = (cost) => margin.top
    + ((highExp - Math.log10(Math.max(cost, 10 ** lowExp))) / span) * plotH;

  svgElement("rect", { x: margin.left, y: margin.top, width: plotW, height: plotH,
    class: "cg-plot-frame" }, svg);
  const every = Math.max(1, Math.ceil(span / 5));
  for (let e = lowExp; e <= highExp; e += every) {
    svgElement("line", { x1: margin.left, x2: margin.left + plotW, y1: round(y(10 ** e)),
      y2: round(y(10 ** e)), class: "cg-plot-grid" }, svg);
    const label = svgElement("text", { x: margin.left - 4, y: round(y(10 ** e)) + 3,
      "text-anchor": "end", class: "cg-plot-text" }, svg);
    label.textContent = powerLabel(e);
  }
  for (const t of niceTicks(0, last, 4)) {
    svgElement("line", { x1: round(x(t)), x2: round(x(t)), y1: margin.top + plotH,
      y2: margin.top + plotH + 4, class: "cg-plot-axis" }, svg);
    const label = svgElement("text", { x: round(x(t)), y: margin.top + plotH + 15,
      "text-anchor": "middle", class: "cg-plot-text" }, svg);
    label.textContent = String(t);
  }
  const axisLabel = svgElement("text", { x: margin.left + plotW / 2, y: height - 2,
    "text-anchor": "middle", class: "cg-plot-text" }, svg);
  axisLabel.textContent = "epoch";
  const heading = svgElement("text", { x: margin.left, y: 11, class: "cg-plot-text" }, svg);
  heading.textContent = `${title} (log scale)`;

  let d = "";
  losses.forEach((c, i) => { d += `${i ? "L" : "M"}${round(x(i))},${round(y(c))}`; });
  svgElement("path", { d, class: "cg-loss-line" }, svg);
  const guide = svgElement("line", { y1: margin.top, y2: margin.top + plotH,
    class: "cg-marker-line" }, svg);
  const dot = svgElement("circle", { r: 4, class: "cg-marker" }, svg);
  function setMarker(epoch) {
    const mx = round(x(epoch));
    const my = round(y(losses[epoch]));
    guide.setAttribute("x1", mx);
    guide.setAttribute("x2", mx);
    dot.setAttribute("cx", mx);
    dot.setAttribute("cy", my);
  }
  return { svg, setMarker };
}

// Line segments where a grid of values crosses `level` (marching squares, with linear
// interpolation along cell edges). values[row * size + col], row 0 at the bottom.
// Returns an SVG path string in the coordinates given by toX(col), toY(row) (fractional).
function contourPath(values, size, level, toX, toY) {
  let d = "";
  const at = (r, c) => values[r * size + c];
  const cross = (a, b) => (level - a) / (b - a);
  for (let r = 0; r < size - 1; r++) {
    for (let c = 0; c < size - 1; c++) {
      const v00 = at(r, c); const v01 = at(r, c + 1);
      const v10 = at(r + 1, c); const v11 = at(r + 1, c + 1);
      const code = (v00 > level ? 1 : 0) | (v01 > level ? 2 : 0) | (v11 > level ? 4 : 0)
        | (v10 > level ? 8 : 0);
      if (code === 0 || code === 15) continue;
      // where the level crosses each edge of the cell: bottom, right, top, left
      const bottom = () => [c + cross(v00, v01), r];
      const right = () => [c + 1, r + cross(v01, v11)];
      const top = () => [c + cross(v10, v11), r + 1];
      const left = () => [c, r + cross(v00, v10)];
      const centreAbove = (v00 + v01 + v10 + v11) / 4 > level;
      const pairs = {
        1: [[left, bottom]], 2: [[bottom, right]], 3: [[left, right]], 4: [[right, top]],
        5: centreAbove ? [[left, top], [bottom, right]] : [[left, bottom], [right, top]],
        6: [[bottom, top]], 7: [[left, top]], 8: [[top, left]], 9: [[top, bottom]],
        10: centreAbove ? [[bottom, left], [top, right]] : [[bottom, right], [top, left]],
        11: [[top, right]], 12: [[right, left]], 13: [[right, bottom]], 14: [[bottom, left]],
      }[code];
      for (const [from, to] of pairs) {
        const [c1, r1] = from();
        const [c2, r2] = to();
        d += `M${round(toX(c1))},${round(toY(r1))}L${round(toX(c2))},${round(toY(r2))}`;
      }
    }
  }
  return d;
}

// The network's output over the plane as a heat map, its 0.5 contour, and the training points
// (target 0: circle, target 1: diamond). grid = {size, low, high}; show(cells) takes one
// snapshot's size × size outputs quantized to 0–255. Returns {svg, show}.
function decisionBoundary(parent, grid, samples, { width = 200 } = {}) {
  const margin = { left: 26, right: 6, top: 16, bottom: 28 };
  const plotW = width - margin.left - margin.right;
  const height = plotW + margin.top + margin.bottom;
  const { size, low, high } = grid;
  const cell = (high - low) / (size - 1);
  const from = low - cell / 2;
  const span = high - low + cell;
  const sx = (v) => margin.left + ((v - from) / span) * plotW;
  const sy = (v) => margin.top + ((from + span - v) / span) * plotW;
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, class: "cg-boundary",
    role: "img", "aria-label": "decision boundary of the network over the plane" }, parent);
  // The heat map is a size × size bitmap the browser scales up smoothly (the field is smooth);
  // the contour, points, axes and text stay vector. One bitmap write per frame is far cheaper
  // than restyling size² SVG rectangles.
  const holder = svgElement("foreignObject", { x: margin.left, y: margin.top, width: plotW,
    height: plotW, class: "cg-heat" }, svg);
  const canvas = document.createElementNS("http://www.w3.org/1999/xhtml", "canvas");
  canvas.width = size;
  canvas.height = size;
  canvas.setAttribute("style", "width: 100%; height: 100%; display: block");
  holder.appendChild(canvas);
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  const cellPx = plotW / size;
  svgElement("rect", { x: margin.left, y: margin.top, width: plotW, height: plotW,
    class: "cg-plot-frame" }, svg);
  const contour = svgElement("path", { class: "cg-contour" }, svg);
  for (const t of [0, 1]) {
    for (const [axis, attrs] of [["x", { x: sx(t), y: margin.top + plotW + 13,
      "text-anchor": "middle" }], ["y", { x: margin.left - 4, y: sy(t) + 3,
      "text-anchor": "end" }]]) {
      const label = svgElement("text", { ...attrs, class: "cg-plot-text" }, svg);
      label.textContent = String(t);
      label.dataset.axis = axis;
    }
  }
  const xLabel = svgElement("text", { x: margin.left + plotW / 2, y: height - 2,
    "text-anchor": "middle", class: "cg-plot-text" }, svg);
  xLabel.textContent = "x1";
  const yLabel = svgElement("text", { x: 2, y: margin.top + plotW / 2 + 3,
    class: "cg-plot-text" }, svg);
  yLabel.textContent = "x2";
  const heading = svgElement("text", { x: margin.left, y: 11, class: "cg-plot-text" }, svg);
  heading.textContent = "L3 over the plane, L3 = 0.5";
  for (const sample of samples) {
    const [px, py] = [round(sx(sample.x[0])), round(sy(sample.x[1]))];
    const cls = `cg-point cg-target-${sample.y > 0.5 ? 1 : 0}`;
    if (sample.y > 0.5) {
      svgElement("path", { d: `M${px},${py - 7}L${px + 7},${py}L${px},${py + 7}L${px - 7},${py}Z`,
        class: cls }, svg);
    } else {
      svgElement("circle", { cx: px, cy: py, r: 5.5, class: cls }, svg);
    }
  }
  const toX = (col) => margin.left + (col + 0.5) * cellPx;
  const toY = (row) => margin.top + (size - 0.5 - row) * cellPx;
  // each cell in the colour of the side it predicts, stronger the surer the network is:
  // transparent near L3 = 0.5, so the boundary reads on light and dark backgrounds alike
  let colours = null;
  function rgb(name) {
    const probe = svgElement("rect", { class: name }, svg);
    const parts = getComputedStyle(probe).fill.match(/\d+(\.\d+)?/g).map(Number);
    probe.remove();
    return parts.slice(0, 3);
  }
  function show(cells) {
    colours = colours || [rgb("cg-heat-0"), rgb("cg-heat-1")];
    const pixels = image.data;
    for (let r = 0; r < size; r++) {
      const rowStart = (size - 1 - r) * size; // canvas rows run from the top
      for (let c = 0; c < size; c++) {
        const value = cells[r * size + c];
        const [red, green, blue] = colours[value > 127.5 ? 1 : 0];
        const at = 4 * (rowStart + c);
        pixels[at] = red;
        pixels[at + 1] = green;
        pixels[at + 2] = blue;
        pixels[at + 3] = Math.round((Math.abs(value - 127.5) / 127.5) * 255 * 0.7);
      }
    }
    context.putImageData(image, 0, 0);
    contour.setAttribute("d", contourPath(cells, size, 127.5, toX, toY));
  }
  return { svg, show, contour, canvas };
}
