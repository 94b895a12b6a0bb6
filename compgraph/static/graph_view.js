// graph_view.js — the drawing: put the SVG in the box, find its changing parts by id, apply a
// step's texts and classes, fit and zoom. Steps never touch the layout.
const CG_ROLES = { node: ["head", "value", "grad"], edge: ["label"] };
const CG_SUFFIX = { value: "-v", grad: "-g", label: "-l" };
const CG_MIN_SCALE = 0.75;  // graphviz's 10 pt edge labels stay ≥ 10 px on screen

// The same tagging as scene.tag_svg in Python, for an SVG drawn here by viz.js.
function cgTagSvg(svg) {
  svg.classList.add("cg-graph");
  svg.querySelectorAll("title").forEach((t) => t.remove());
  for (const g of svg.querySelectorAll("g.node, g.edge")) {
    const kind = g.classList.contains("node") ? "node" : "edge";
    const texts = [...g.querySelectorAll(":scope > text")];
    // a node's lines: head, value, gradient; an edge's: its label's lines (e5-l, e5-l2)
    const roles = kind === "node" ? CG_ROLES.node : texts.map(() => "label");
    texts.forEach((t, i) => {
      const role = roles[i];
      if (!role) return;
      t.classList.add("cg-" + role);
      if (CG_SUFFIX[role]) t.id = g.id + CG_SUFFIX[role] + (kind === "edge" && i ? i + 1 : "");
    });
    if (kind === "edge") {
      const chip = [...g.querySelectorAll(":scope > polygon")]
        .find((p) => (p.getAttribute("fill") || "").toLowerCase() === "#ffffff");
      if (chip && texts.length) {
        chip.classList.add("cg-chip");
        const xs = chip.getAttribute("points").trim().split(/\s+/).map((p) => parseFloat(p));
        for (const label of texts) {  // centred on the chip: shorter numbers stay centred
          label.setAttribute("text-anchor", "middle");
          label.setAttribute("x", ((Math.min(...xs) + Math.max(...xs)) / 2).toFixed(2));
        }
      }
    }
  }
  return svg;
}

function cgParseSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") throw new Error("the drawing is not an SVG");
  return document.importNode(svg, true);
}

class CgGraphView {
  constructor(box) {
    this.box = box;
    this.svg = null;
    this.parts = new Map();      // id -> element
    this.baseClass = new Map();  // id -> graphviz's own class ("node", "edge")
    this.shown = { text: new Map(), cls: new Map() };
    this.scale = null;           // null: fit the box
  }

  // Show an SVG (already tagged when the kernel made it; tagged here when viz.js made it).
  show(svgText, tagged) {
    const svg = cgParseSvg(svgText);
    if (!tagged) cgTagSvg(svg);
    svg.setAttribute("role", "img");
    svg.setAttribute("focusable", "false");
    this.natural = { w: parseFloat(svg.getAttribute("width")) * 4 / 3,
                     h: parseFloat(svg.getAttribute("height")) * 4 / 3 };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    this.parts.clear();
    this.baseClass.clear();
    // ids move to data-cg: several widgets on one page draw the same ids.
    for (const el of svg.querySelectorAll("[id]")) {
      el.dataset.cg = el.id;
      this.parts.set(el.id, el);
      this.baseClass.set(el.id, el.getAttribute("class") || "");  // before any state
      el.removeAttribute("id");
    }
    this.parts.set("@", svg);
    this.baseClass.set("@", "cg-graph");
    this.shown = { text: new Map(), cls: new Map() };
    this.box.replaceChildren(svg);
    this.svg = svg;
    this.fit();
  }

  apply(state, description) {
    if (!this.svg) return;
    for (const [id, text] of state.text) {
      if (this.shown.text.get(id) === text) continue;
      const el = this.parts.get(id);
      if (el) el.textContent = text;
      this.shown.text.set(id, text);
    }
    for (const [id, cls] of state.cls) {
      if (this.shown.cls.get(id) === cls) continue;
      const el = this.parts.get(id);
      if (el) el.setAttribute("class", (this.baseClass.get(id) + " " + cls).trim());
      this.shown.cls.set(id, cls);
    }
    this.svg.setAttribute("aria-label", description);
    this.reveal();
  }

  // A drawing larger than its box scrolls: bring the current node or edge into view.
  reveal() {
    const box = this.box;
    if (box.scrollWidth <= box.clientWidth && box.scrollHeight <= box.clientHeight) return;
    const current = this.svg.querySelector(".cg-current");
    if (!current) return;
    const r = current.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    const margin = 24;
    if (r.left < b.left + margin || r.right > b.right - margin) {
      box.scrollLeft += r.left + r.width / 2 - (b.left + b.width / 2);
    }
    if (r.top < b.top + margin || r.bottom > b.bottom - margin) {
      box.scrollTop += r.top + r.height / 2 - (b.top + b.height / 2);
    }
  }

  fitScale() {
    const width = this.box.clientWidth - 2 || this.natural.w;
    const height = parseFloat(getComputedStyle(this.box).maxHeight) - 2 || this.natural.h;
    return Math.max(CG_MIN_SCALE, Math.min(1, width / this.natural.w, height / this.natural.h));
  }

  fit() { this.scale = null; this.resize(); }

  zoom(factor) {
    const current = this.scale ?? this.fitScale();
    this.scale = Math.min(3, Math.max(CG_MIN_SCALE, current * factor));
    this.resize();
  }

  resize() {
    if (!this.svg) return;
    const s = this.scale ?? this.fitScale();
    this.svg.style.width = `${Math.round(this.natural.w * s)}px`;
    this.svg.style.height = `${Math.round(this.natural.h * s)}px`;
    this.currentScale = s;
  }
}
