// app.js — one widget: controls, picture, explanation, legend, status, all from one scene.
// The host is where the scene lives: an anywidget model (entry_anywidget.js) or data written
// into a standalone page (entry_export.js). Every step is applied here, without the kernel.
class CgSteps {  // the state at any step: the start state with the steps' deltas applied
  constructor(scene) { this.scene = scene; this.reset(); }
  reset() {
    this.at = -1;
    this.text = new Map(Object.entries(this.scene.base.text));
    this.cls = new Map(Object.entries(this.scene.base.cls));
  }
  state(i) {
    if (i < this.at) this.reset();
    for (let k = this.at + 1; k <= i; k++) {
      const delta = this.scene.steps[k];
      for (const id in delta.text) this.text.set(id, delta.text[id]);
      for (const id in delta.cls) this.cls.set(id, delta.cls[id]);
    }
    this.at = i;
    return { text: this.text, cls: this.cls };
  }
}

// A kind of widget may add parts of its own (TrainingExplorer: epoch and sample controls, plots).
// Its module, joined before the entry, sets CG_KINDS[kind] = { mount(context) } where context
// holds root, parts (the elements in order, to splice into), host, view, controls and show(i);
// mount may return { onStep(index, scene) }, called after every step is shown.
const CG_KINDS = {};

function cgMount(el, host) {
  let scene = host.scene();
  const root = document.createElement("div");
  root.className = "cg-widget";
  root.dataset.kind = scene.kind;
  if (scene.kind !== "picture") root.tabIndex = 0;
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", scene.title || "compgraph");
  const status = cgStatus();
  const picture = document.createElement("div");
  picture.className = "cg-picture";
  const view = new CgGraphView(picture);
  const frame = document.createElement("div");
  frame.className = "cg-view";
  frame.append(picture);
  let steps = new CgSteps(scene);
  let explanation = cgExplanation(scene.steps);
  const count = () => scene.steps.length;
  let index = Math.max(0, Math.min(host.step(), count() - 1));
  let drawn = false;

  function show(i, fromHost) {
    index = Math.max(0, Math.min(i, count() - 1));
    const step = scene.steps[index];
    controls.update(index, step.position);
    explanation.textContent = step.explanation;
    if (drawn) view.apply(steps.state(index), step.description);
    if (!fromHost) host.setStep(index);
    if (hooks && hooks.onStep) hooks.onStep(index, scene);
  }
  let hooks = null;

  const controls = new CgControls(root, {
    count, go: (i) => show(i, false), labels: scene.labels || null,
    noun: scene.noun, playMs: scene.play_ms,
  });
  controls.bar.append(cgZoomButtons(view));
  const still = scene.kind === "picture";  // a static picture: no controls, no explanation
  const parts = still ? [frame] : [controls.bar, frame, explanation];
  const inputs = cgInputs(scene.inputs || [], host);
  if (inputs) parts.push(inputs);
  if (!still) parts.push(cgLegend(scene.legend || []));
  parts.push(status);
  if (CG_KINDS[scene.kind]) {
    hooks = CG_KINDS[scene.kind].mount({ root, parts, host, view, controls,
                                         show: (i) => show(i, false) }) || null;
  }
  root.append(...parts);
  el.replaceChildren(root);

  function showStatus() { status.textContent = host.status ? host.status() : ""; }

  async function draw() {
    drawn = false;
    try {
      if (scene.svg) {
        view.show(scene.svg, true);
      } else {
        const saved = host.drawnSvg();
        let svg = saved && saved.key === scene.key ? saved.svg : null;
        if (!svg) {
          status.textContent = "drawing the graph in the browser…";
          svg = await cgLayout(host, scene.dot);
          host.setDrawnSvg({ key: scene.key, svg });
          showStatus();
        }
        view.show(svg, false);
      }
      drawn = true;
      show(index, true);
    } catch (error) {
      status.textContent = "The graph could not be drawn here: " + (error.message || error)
        + "\nRun the cell again with the kernel running, or install graphviz's dot.";
    }
  }

  const offs = [];
  if (host.onChange) {
    offs.push(host.onChange("step", () => show(host.step(), true)));
    offs.push(host.onChange("status", showStatus));
    offs.push(host.onChange("scene", () => {  // new inputs: same layout, new numbers
      const old = scene;
      scene = host.scene();
      steps = new CgSteps(scene);
      const fresh = cgExplanation(scene.steps);
      explanation.replaceWith(fresh);
      explanation = fresh;
      if (old.key !== scene.key || (old.svg || "") !== (scene.svg || "")) draw();
      else show(index, true);
    }));
  }
  let observer = null;
  if (typeof ResizeObserver !== "undefined") {
    observer = new ResizeObserver(() => {
      if (view.scale === null) view.resize();
      if (drawn) view.reveal();
    });
    observer.observe(picture);
  }
  show(index, true);
  showStatus();
  draw();
  return () => {
    controls.pause();
    if (observer) observer.disconnect();
    offs.forEach((off) => off && off());
  };
}

// Sliders for the graph's inputs (Stepper(sliders=...)): the kernel recomputes the trace and
// sends a new scene; the layout stays.
function cgInputs(specs, host) {
  if (!specs.length || !host.setInput) return null;
  const box = document.createElement("div");
  box.className = "cg-inputs";
  for (const spec of specs) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    const shown = document.createElement("output");
    input.type = "range";
    input.className = "cg-input";
    input.dataset.name = spec.name;
    Object.assign(input, { min: spec.min, max: spec.max, step: spec.step, value: spec.value });
    input.title = `Input ${spec.name}: the trace is recomputed when you let go`;
    shown.textContent = String(spec.value);
    input.oninput = () => { shown.textContent = input.value; };
    input.onchange = () => host.setInput(spec.name, Number(input.value));
    label.append(document.createTextNode(spec.name), input, shown);
    box.append(label);
  }
  return box;
}
