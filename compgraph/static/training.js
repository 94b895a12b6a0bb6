// training.js — TrainingExplorer's front end. The kernel sends one compressed payload
// (training.py, pack):
//   4 bytes: length n of the JSON (little-endian), n bytes of JSON, then the decision-boundary
//   grids, one byte per grid point and snapshot, each snapshot stored as its difference from the
//   one before (mod 256); all of it zlib-compressed.
// Moving the epoch slider or choosing a sample only looks up what the payload holds: texts for
// the graph, a marker on the loss curve, a grid for the heat map. Nothing is computed by the model
// here, and nothing goes to the kernel until the learner asks to train again.
// Needs plots.js before it: Python joins the two into one module (no imports, no build step);
// `export default` at the end is the anywidget entry, mountTraining the standalone page's.

const TRAINING_CSS = `
.cg-training { --cg-text: var(--jp-ui-font-color1, currentcolor);
  --cg-line: var(--jp-border-color1, #8c8c8c); --cg-grid: var(--jp-border-color2, rgba(128, 128, 128, 0.35));
  --cg-marker: #d55e00; --cg-class0: #0072b2; --cg-class1: #e69f00;
  color: var(--cg-text); }
.cg-training .cg-controls label, .cg-training .cg-retrain label { display: inline-flex;
  align-items: center; gap: 6px; }
.cg-training .cg-controls label.cg-epoch-label { flex: 1 1 200px; min-width: 0;
  max-width: 420px; }
.cg-training .cg-epoch { flex: 1 1 auto; min-width: 80px; width: auto; }
.cg-training .cg-sample { max-width: 100%; }
.cg-training select, .cg-training input[type=text] { font: inherit;
  color: var(--jp-ui-font-color1, #1a1a1a); background: var(--jp-layout-color1, #ffffff);
  border: 1px solid var(--jp-border-color1, #8c8c8c); border-radius: 2px; padding: 2px 4px; }
.cg-training .cg-retrain button, .cg-training .cg-play { height: 28px; padding: 0 10px; cursor: pointer; font: inherit;
  color: var(--jp-ui-font-color1, #1a1a1a); background: var(--jp-layout-color2, #eeeeee);
  border: 1px solid var(--jp-border-color1, #8c8c8c); border-radius: 3px; }
.cg-training .cg-position { min-width: 17em; font-variant-numeric: tabular-nums; }
.cg-training .cg-body { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.cg-training .cg-picture { flex: 0 1 auto; max-height: 600px; }
.cg-training .cg-side { flex: 1 1 250px; min-width: 250px; display: flex;
  flex-direction: column; gap: 4px; }
.cg-training .cg-plot { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: flex-start; }
.cg-training .cg-plot svg { display: block; height: auto; }
.cg-training .cg-plot .cg-loss { flex: 1 1 250px; max-width: 360px; }
.cg-training .cg-plot .cg-boundary { flex: 0 1 220px; max-width: 240px; }
.cg-training .cg-explanation { height: 10.2em; overflow: hidden; font-size: 12px;
  line-height: 1.6em; padding: 2px 8px; }
.cg-training .cg-retrain { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: center; }
.cg-training .cg-retrain input { width: 6em; }
.cg-training .cg-status:not(.cg-error) { color: var(--cg-text); }
.cg-training .cg-graph .node rect { fill: #ffffff; stroke: #555555; stroke-width: 1.2; }
.cg-training .cg-graph .cg-role-input rect { fill: #d4ebf8; stroke: #56b4e9; }
.cg-training .cg-graph .cg-role-param rect { fill: #fbe3b4; stroke: #e69f00; }
.cg-training .cg-graph .cg-role-output rect { fill: #c9ede0; stroke: #009e73; stroke-width: 2.5; }
.cg-training .cg-graph text { font-family: Helvetica, Arial, sans-serif; font-size: 11px;
  fill: #1a1a1a; }
.cg-training .cg-graph text.cg-grad { fill: #9a3a00; }
.cg-training .cg-graph .edge path { fill: none; stroke: #8c8c8c; stroke-width: 1; }
.cg-training .cg-graph .edge polygon { fill: #8c8c8c; stroke: none; }
.cg-training .cg-graph .edge rect.cg-chip { fill: #ffffff; }
.cg-training .cg-graph .edge text { font-size: 10px; }
.cg-training .cg-plot-frame { fill: none; stroke: var(--cg-line); }
.cg-training .cg-plot-grid { stroke: var(--cg-grid); }
.cg-training .cg-plot-axis { stroke: var(--cg-line); }
.cg-training .cg-plot-text { fill: var(--cg-text); font-size: 11px; }
.cg-training .cg-loss-line { fill: none; stroke: var(--cg-text); stroke-width: 1.3; }
.cg-training .cg-marker { fill: var(--cg-marker); stroke: var(--cg-text); stroke-width: 1; }
.cg-training .cg-marker-line { stroke: var(--cg-marker); stroke-dasharray: 4 3; }
.cg-training .cg-heat-0 { fill: var(--cg-class0); }
.cg-training .cg-heat-1 { fill: var(--cg-class1); }
.cg-training .cg-contour { fill: none; stroke: var(--cg-text); stroke-width: 2; }
.cg-training .cg-point { stroke: var(--cg-text); stroke-width: 1.5; }
.cg-training .cg-target-0 { fill: var(--cg-class0); }
.cg-training .cg-target-1 { fill: var(--cg-class1); }
`;

const TEXTS_PER_NODE = 2; // value, gradient

// A value as lines of the drawing: one per row of a matrix ("[[a, b], [c, d]]" → two lines).
function splitRows(text, rows) {
  if (rows === 1) return [text];
  const parts = text.slice(2, -2).split("], [");
  if (parts.length !== rows) return [text, ...Array(rows - 1).fill("")];
  return parts.map((part, i) => `${i === 0 ? "[[" : "["}${part}]${i === rows - 1 ? "]" : ","}`);
}

// The network's graph from the layout the kernel computed (dot's coordinates, y upwards):
// boxes, edges with arrowheads, edge labels, and per node text lines whose content changes.
function drawGraph(parent, layout) {
  const { width, height } = layout;
  const flip = (y) => round2(height - y);
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    class: "cg-graph", width: round2(width), height: round2(height) }, parent);
  const description = svgElement("title", {}, svg);
  const lineHeight = 14;
  const edges = svgElement("g", { class: "cg-edges" }, svg);
  const chips = [];
  layout.edges.forEach((edge, k) => {
    const g = svgElement("g", { class: "edge", "data-cg": `e${k}` }, edges);
    const p = edge.points;
    let d = `M${p[0][0]},${flip(p[0][1])}`;
    for (let i = 1; i + 2 < p.length; i += 3) {
      d += `C${p[i][0]},${flip(p[i][1])} ${p[i + 1][0]},${flip(p[i + 1][1])} `
        + `${p[i + 2][0]},${flip(p[i + 2][1])}`;
    }
    svgElement("path", { d }, g);
    const [bx, by] = [p[p.length - 1][0], flip(p[p.length - 1][1])];
    const [tx, ty] = [edge.end[0], flip(edge.end[1])];
    const [dx, dy] = [tx - bx, ty - by];
    const length = Math.hypot(dx, dy) || 1;
    const [nx, ny] = [(-dy / length) * 2.6, (dx / length) * 2.6];
    svgElement("polygon", { points: `${round2(tx)},${round2(ty)} ${round2(bx + nx)},`
      + `${round2(by + ny)} ${round2(bx - nx)},${round2(by - ny)}` }, g);
    // the label on its own white chip, as in the other widgets' drawings (readable on any page)
    const chip = svgElement("rect", { y: round2(flip(edge.labelAt[1]) - 7), height: 13,
      class: "cg-chip" }, g);
    const label = svgElement("text", { x: edge.labelAt[0], y: flip(edge.labelAt[1]) + 3.5,
      "text-anchor": "middle", class: "cg-label" }, g);
    label.textContent = edge.label;
    chips.push([chip, label, edge.labelAt[0], edge.label.length * 4.9]);
  });
  // each chip as wide as its label: measured once the drawing is on the page (estimated before)
  function fitChips() {
    for (const [chip, label, centre, estimate] of chips) {
      const measured = label.isConnected ? label.getComputedTextLength() : 0;
      const wide = (measured || estimate) + 4;
      const left = Math.max(0, Math.min(width - wide, centre - wide / 2));
      chip.setAttribute("x", round2(left));
      chip.setAttribute("width", round2(wide));
      label.setAttribute("x", round2(left + wide / 2));
    }
  }
  const lines = []; // per node: [value lines, gradient lines]
  for (const node of layout.nodes) {
    const g = svgElement("g", { class: `node cg-role-${node.role}`, "data-cg": node.name }, svg);
    const [cx, cy] = [node.x, flip(node.y)];
    const radius = node.role === "input" ? node.h / 2 : node.role === "param" ? 0 : 6;
    svgElement("rect", { x: round2(cx - node.w / 2), y: round2(cy - node.h / 2),
      width: round2(node.w), height: round2(node.h), rx: round2(radius) }, g);
    const total = 2 * node.rows;
    const top = cy - ((total - 1) * lineHeight) / 2 + 4;
    const make = (i, cls) => {
      const text = svgElement("text", { x: round2(cx), y: round2(top + i * lineHeight),
        "text-anchor": "middle", class: cls }, g);
      return text;
    };
    const values = []; const grads = [];
    for (let i = 0; i < node.rows; i++) values.push(make(i, "cg-value"));
    for (let i = 0; i < node.rows; i++) grads.push(make(node.rows + i, "cg-grad"));
    lines.push([values, grads]);
  }
  // texts: value and gradient text of every node, in layout.nodes order
  function setTexts(texts) {
    layout.nodes.forEach((node, k) => {
      const [values, grads] = lines[k];
      const prefixes = [`${node.head} = `, `∂${layout.output}/∂${node.name} = `];
      [values, grads].forEach((elements, which) => {
        const rows = splitRows(texts[TEXTS_PER_NODE * k + which], node.rows);
        elements.forEach((element, i) => {
          const content = (i === 0 ? prefixes[which] : "") + rows[i];
          if (element.textContent !== content) element.textContent = content;
        });
      });
    });
  }
  fitChips();
  return { svg, setTexts, description, fitChips };
}

function round2(value) {
  return Math.round(value * 100) / 100;
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// The payload as {data, grids}: grids[k] holds snapshot k's grid (size × size bytes).
async function decodePayload(compressed) {
  const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream("deflate"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  const jsonLength = new DataView(bytes.buffer).getUint32(0, true);
  const data = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + jsonLength)));
  const cellsPerGrid = data.grid.size * data.grid.size;
  const deltas = bytes.subarray(4 + jsonLength);
  const grids = [];
  let previous = new Uint8Array(cellsPerGrid);
  for (let k = 0; k < data.snapshots.length; k++) {
    const grid = new Uint8Array(cellsPerGrid);
    const delta = deltas.subarray(k * cellsPerGrid, (k + 1) * cellsPerGrid);
    for (let i = 0; i < cellsPerGrid; i++) grid[i] = (previous[i] + delta[i]) & 255;
    grids.push(grid);
    previous = grid;
  }
  return { data, grids };
}

function element(tag, attrs = {}, parent = null, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

// Builds the explorer inside `el`. hooks: onRetrain({seed, lr, epochs}) (absent: no kernel),
// onPosition(epoch, sample) after the learner lets go of the slider or picks a sample.
function mountTraining(el, hooks = {}) {
  const root = element("div", { class: "cg-widget cg-training", "data-kind": "training",
    tabindex: "0", role: "group", "aria-label": "TrainingExplorer: XOR training, epoch by epoch" },
  el);
  element("style", {}, root, TRAINING_CSS);
  const controls = element("div", { class: "cg-controls" }, root);
  // First / Previous / Play-Pause / Next / Last step through the snapshot epochs
  const buttons = {
    first: cgButton("first", "first", "First snapshot: epoch 0 (Home)"),
    prev: cgButton("prev", "prev", "Previous snapshot (←)"),
    play: cgButton("play", "play", "Play: watch training epoch by epoch"),
    next: cgButton("next", "next", "Next snapshot (→)"),
    last: cgButton("last", "last", "Last snapshot: the trained network (End)"),
  };
  const play = buttons.play;
  play.classList.add("cg-play");
  play.setAttribute("aria-pressed", "false");
  controls.append(...Object.values(buttons));
  const lastIndex = () => (state ? state.data.snapshots.length - 1 : 0);
  const user = (k) => { pause(); setSnapshot(k); };
  buttons.first.addEventListener("click", () => user(0));
  buttons.prev.addEventListener("click", () => user(epochIndex - 1));
  buttons.next.addEventListener("click", () => user(epochIndex + 1));
  buttons.last.addEventListener("click", () => user(lastIndex()));
  for (const b of Object.values(buttons)) b.disabled = true; // until the data is there
  const epochLabel = element("label", { class: "cg-epoch-label",
    title: "Drag to move through training" }, controls, "epoch");
  const slider = element("input", { type: "range", class: "cg-epoch", min: "0", max: "0",
    step: "1", value: "0", "aria-label": "epoch",
    title: "Drag to move through training; ←/→ one snapshot, Home/End the ends" }, epochLabel);
  const position = element("span", { class: "cg-position", "aria-live": "off" }, controls);
  const sampleLabel = element("label", { title: "The training sample whose values and "
    + "gradients the graph shows" }, controls, "sample");
  const sample = element("select", { class: "cg-sample", "aria-label": "sample",
    title: "The training sample whose values and gradients the graph shows" }, sampleLabel);
  const zoom = { scale: null }; // null: fit the box
  controls.append(cgZoomButtons({
    zoom: (factor) => setScale((zoom.scale ?? fitScale()) * factor),
    fit: () => setScale(null),
  }));
  const body = element("div", { class: "cg-body" }, root);
  const picture = element("div", { class: "cg-picture" }, body);
  const side = element("div", { class: "cg-side" }, body);
  const plot = element("div", { class: "cg-plot" }, side);
  const explanation = element("div", { class: "cg-explanation", "aria-live": "polite" }, side);
  const legend = element("div", { class: "cg-legend" }, root);
  legend.setAttribute("aria-label", "Key to the drawing and the plots");
  const box = (fill, border, rx, width = 1.5) => `<rect x="2" y="1" width="24" height="12" `
    + `rx="${rx}" fill="${fill}" stroke="${border}" stroke-width="${width}"/>`;
  for (const [art, text] of [
    [box("#d4ebf8", "#56b4e9", 6), "input"],
    [box("#fbe3b4", "#e69f00", 0), "parameter"],
    [box("#ffffff", "#555555", 3), "operation"],
    [box("#c9ede0", "#009e73", 3, 2.5), "cost"],
    ['<circle cx="14" cy="7" r="5" class="cg-point cg-target-0"/>', "target y = 0"],
    ['<path d="M14,1L20,7L14,13L8,7Z" class="cg-point cg-target-1"/>', "target y = 1"],
    ['<line x1="2" y1="7" x2="26" y2="7" class="cg-contour"/>', "L3 = 0.5"],
    ['<line x1="14" y1="0" x2="14" y2="14" class="cg-marker-line"/>'
      + '<circle cx="14" cy="7" r="3.5" class="cg-marker"/>', "chosen epoch"],
  ]) {
    const item = element("span", { class: "cg-item" }, legend);
    item.innerHTML = `<svg viewBox="0 0 28 14" aria-hidden="true">${art}</svg>`;
    item.append(text);
  }
  const form = element("form", { class: "cg-retrain" }, root);
  const knobs = {};
  for (const [name, label, tip] of [["seed", "seed", "Seed of the random initial weights"],
    ["lr", "η", "Learning rate η (a positive number)"],
    ["epochs", "epochs", "Epochs to train (a whole number)"]]) {
    const wrap = element("label", { title: tip }, form, label);
    knobs[name] = element("input", { type: "text", name, class: `cg-knob-${name}`,
      "aria-label": tip }, wrap);
  }
  const train = element("button", { type: "submit", class: "cg-train",
    title: "Train again in the kernel with these knobs" }, form, "train again");
  const status = element("div", { class: "cg-status", role: "status" }, root);

  let state = null; // {data, grids, graph, loss, boundary}
  const MIN_SCALE = 1; // the drawing's edge labels are 10 px: never smaller (the box scrolls)
  let waiting = null; // the timer that gives up on a kernel that does not answer
  let epochIndex = 0;

  function describe(k, s) {
    const { data } = state;
    const epoch = data.snapshots[k];
    const step = data.snapshots.length > 1 ? data.snapshots[1] - data.snapshots[0] : 1;
    const every = step === 1 ? "every epoch" : `every ${step}th epoch + last`;
    const sampleInfo = data.samples[s];
    return [
      `epoch ${epoch} of ${data.epochs}`,
      `cost C = ${data.lossTexts[k]}; ${data.correct[k]}/4 correct`,
      `L3 for the targets ${data.samples.map((x) => x.y).join(", ")}:`,
      data.predictions[k].join(" "),
      `graph: ${sampleInfo.label}`,
      `slider: ${every}`,
    ].join("\n");
  }

  function show() {
    if (!state) return;
    const k = epochIndex;
    const s = Number(sample.value) || 0;
    const { data } = state;
    const per = TEXTS_PER_NODE * data.nodes.length;
    const start = (k * data.samples.length + s) * per;
    const texts = [];
    for (let i = 0; i < per; i++) texts.push(data.strings[data.texts[start + i]]);
    state.graph.setTexts(texts);
    state.loss.setMarker(data.snapshots[k]);
    state.boundary.show(state.grids[k]);
    const count = data.snapshots.length;
    position.textContent = `snapshot ${k + 1} of ${count} · epoch ${data.snapshots[k]} of `
      + `${data.epochs}`;
    position.title = "The slider stops at these snapshot epochs";
    slider.setAttribute("aria-valuetext", `epoch ${data.snapshots[k]} of ${data.epochs}`);
    buttons.first.disabled = buttons.prev.disabled = k <= 0;
    buttons.next.disabled = buttons.last.disabled = k >= count - 1;
    buttons.play.disabled = count <= 1;
    const text = describe(k, s);
    explanation.textContent = text;
    state.graph.description.textContent = `The network's graph at ${text.split("\n")[0]}, `
      + `sample ${s}.`;
    state.graph.svg.setAttribute("aria-label", state.graph.description.textContent);
  }

  function fitScale() {
    if (!state) return 1;
    const { width, height } = state.data.layout;
    const room = (body.clientWidth || width) - 2;
    const tall = parseFloat(getComputedStyle(picture).maxHeight) || height;
    return Math.max(MIN_SCALE, Math.min(1, room / width, tall / height));
  }

  function setScale(scale) {
    zoom.scale = scale === null ? null : Math.max(MIN_SCALE, Math.min(3, scale));
    if (!state) return;
    const s = zoom.scale ?? fitScale();
    state.graph.svg.style.width = `${Math.round(state.data.layout.width * s)}px`;
    state.graph.svg.style.height = `${Math.round(state.data.layout.height * s)}px`;
  }
  if (typeof ResizeObserver !== "undefined") {
    new ResizeObserver(() => { if (zoom.scale === null) setScale(null); }).observe(body);
  }

  function setSnapshot(k) {
    epochIndex = Math.max(0, Math.min(k, state ? state.data.snapshots.length - 1 : 0));
    slider.value = String(epochIndex);
    show();
  }

  // the snapshot closest to `epoch`
  function indexOf(epoch) {
    const snaps = state.data.snapshots;
    let best = 0;
    for (let k = 0; k < snaps.length; k++) {
      if (Math.abs(snaps[k] - epoch) < Math.abs(snaps[best] - epoch)) best = k;
    }
    return best;
  }

  async function load(compressed, { epoch = null, sampleIndex = null } = {}) {
    if (!compressed || compressed.length === 0) return;
    const { data, grids } = await decodePayload(compressed);
    picture.replaceChildren();
    plot.replaceChildren();
    const graph = drawGraph(picture, data.layout);
    const loss = lossCurve(plot, data.losses);
    const boundary = decisionBoundary(plot, data.grid, data.samples);
    state = { data, grids, graph, loss, boundary };
    setScale(zoom.scale);
    requestAnimationFrame(() => graph.fitChips()); // on the page by now: measure the labels
    slider.max = String(data.snapshots.length - 1);
    sample.replaceChildren(...data.samples.map((s, i) => {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = s.label;
      return option;
    }));
    if (sampleIndex !== null) sample.value = String(sampleIndex);
    for (const name of ["seed", "lr", "epochs"]) {
      knobs[name].value = data.knobs && data.knobs[name] !== null ? String(data.knobs[name]) : "";
    }
    setSnapshot(epoch === null ? data.snapshots.length - 1 : indexOf(epoch));
    root.dataset.ready = "true";
  }

  let timer = null;
  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.innerHTML = cgIcon("play");
    play.title = "Play: watch training epoch by epoch";
    play.setAttribute("aria-label", play.title);
    play.setAttribute("aria-pressed", "false");
  }
  play.addEventListener("click", () => {
    if (timer !== null || !state) { pause(); return; }
    if (epochIndex >= state.data.snapshots.length - 1) setSnapshot(0); // from the start again
    play.innerHTML = cgIcon("pause");
    play.title = "Pause (keeps the epoch)";
    play.setAttribute("aria-label", play.title);
    play.setAttribute("aria-pressed", "true");
    timer = setInterval(() => {
      if (!state || epochIndex >= state.data.snapshots.length - 1) { pause(); return; }
      setSnapshot(epochIndex + 1);
    }, 60);
  });

  slider.addEventListener("input", () => { pause(); setSnapshot(Number(slider.value)); });
  slider.addEventListener("change", () => hooks.onPosition
    && hooks.onPosition(state.data.snapshots[epochIndex], Number(sample.value)));
  sample.addEventListener("change", () => {
    show();
    if (hooks.onPosition) hooks.onPosition(state.data.snapshots[epochIndex], Number(sample.value));
  });
  root.addEventListener("keydown", (event) => {
    // the focused widget or one of its buttons (the slider and the sample list move themselves)
    if (!state || !(event.target === root || event.target.tagName === "BUTTON")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const moves = { ArrowLeft: epochIndex - 1, ArrowRight: epochIndex + 1, Home: 0,
      End: state.data.snapshots.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      event.stopPropagation(); // JupyterLab would move between cells
      pause();
      setSnapshot(moves[event.key]);
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!hooks.onRetrain) {
      setStatus("Training again needs a running kernel: run the notebook, then try again.", true);
      return;
    }
    setStatus("training in the kernel…", false);
    waiting = setTimeout(() => setStatus("⚠ no answer from the kernel: is it running? (Run the "
      + "cell again after restarting it.)", true), 90000);
    hooks.onRetrain({ seed: knobs.seed.value, lr: knobs.lr.value, epochs: knobs.epochs.value });
  });

  function setStatus(text, isError) {
    if (waiting !== null && text !== "training in the kernel…") {
      clearTimeout(waiting);
      waiting = null;
    }
    status.textContent = text || "";
    status.classList.toggle("cg-error", Boolean(isError));
  }

  return { root, load, setStatus, setSnapshot, indexOf, show, slider, sample, pause,
    get state() { return state; } };
}

function viewBytes(value) {
  if (!value) return null;
  if (value instanceof Uint8Array) return value;
  if (value instanceof DataView) return new Uint8Array(value.buffer, value.byteOffset,
    value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof value === "string") return fromBase64(value);
  return null;
}

// anywidget: traits payload (bytes), status (text, "⚠ " first when it is an error), epoch and
// sample (where the learner is; the kernel may set them too).
function renderTraining({ model, el }) {
  const view = mountTraining(el, {
    onRetrain: (knobs) => model.send({ kind: "retrain", ...knobs }),
    onPosition: (epoch, sampleIndex) => {
      model.set("epoch", epoch);
      model.set("sample", sampleIndex);
      model.save_changes();
    },
  });
  const loadPayload = () => view.load(viewBytes(model.get("payload")),
    { epoch: model.get("epoch"), sampleIndex: model.get("sample") })
    .catch((error) => view.setStatus(`⚠ could not read the explorer's data: ${error}`, true));
  const showStatus = () => {
    const text = model.get("status");
    view.setStatus(text, text.startsWith("⚠"));
  };
  const moveTo = () => {
    if (!view.state) return;
    view.sample.value = String(model.get("sample"));
    view.setSnapshot(view.indexOf(model.get("epoch")));
  };
  model.on("change:payload", loadPayload);
  model.on("change:status", showStatus);
  model.on("change:epoch", moveTo);
  model.on("change:sample", moveTo);
  loadPayload();
  showStatus();
  return () => {
    view.pause();
    model.off("change:payload", loadPayload);
    model.off("change:status", showStatus);
    model.off("change:epoch", moveTo);
    model.off("change:sample", moveTo);
  };
}

export default { render: renderTraining };
