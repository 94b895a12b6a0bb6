// controls.js — First / Previous / Play-Pause / Next / Last, the step slider or path chooser,
// the position text, and the keys ←/→/Home/End on the focused widget.
const CG_ICONS = {  // 16×16 glyphs drawn here: icon fonts are missing outside JupyterLab
  first: "M3 2h2v12H3zM14 2v12L6 8z",
  prev: "M4 2h2v12H4zM13 2v12L7 8z",
  play: "M4 2v12l10-6z",
  pause: "M4 2h3v12H4zM9 2h3v12H9z",
  next: "M12 2h-2v12h2zM3 2v12l6-6z",
  last: "M13 2h-2v12h2zM2 2v12l8-6z",
  zoomIn: "M7 3h2v4h4v2H9v4H7V9H3V7h4z",
  zoomOut: "M3 7h10v2H3z",
  fit: "M2 2h5v2H4v3H2zM9 2h5v5h-2V4H9zM2 9h2v3h3v2H2zM12 9h2v5H9v-2h3z",
};

function cgIcon(name) {
  return `<svg viewBox="0 0 16 16" aria-hidden="true"><path d="${CG_ICONS[name]}"/></svg>`;
}

function cgButton(action, icon, title) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.action = action;
  b.title = title;
  b.setAttribute("aria-label", title);
  b.innerHTML = cgIcon(icon);
  return b;
}

class CgControls {
  // go(i) shows step i; count() is the number of steps; labels (optional) makes a <select>.
  constructor(root, { count, go, labels, noun, playMs }) {
    this.count = count;
    this.go = go;
    this.index = 0;
    this.timer = null;
    this.playMs = playMs || 900;
    const bar = document.createElement("div");
    bar.className = "cg-controls";
    const what = noun || "step";
    this.buttons = {
      first: cgButton("first", "first", `First ${what} (Home)`),
      prev: cgButton("prev", "prev", `Previous ${what} (←)`),
      play: cgButton("play", "play", "Play"),
      next: cgButton("next", "next", `Next ${what} (→)`),
      last: cgButton("last", "last", `Last ${what} (End)`),
    };
    this.buttons.play.setAttribute("aria-pressed", "false");
    this.buttons.first.onclick = () => this.user(0);
    this.buttons.prev.onclick = () => this.user(this.index - 1);
    this.buttons.next.onclick = () => this.user(this.index + 1);
    this.buttons.last.onclick = () => this.user(this.count() - 1);
    this.buttons.play.onclick = () => (this.timer ? this.pause() : this.play());
    bar.append(...Object.values(this.buttons));
    if (labels) {
      this.chooser = document.createElement("select");
      this.chooser.className = "cg-path";
      this.chooser.title = `Choose a ${what}`;
      this.chooser.setAttribute("aria-label", `Choose a ${what}`);
      labels.forEach((text, i) => this.chooser.add(new Option(text, String(i))));
      this.chooser.onchange = () => this.user(Number(this.chooser.value));
    } else {
      this.chooser = document.createElement("input");
      this.chooser.type = "range";
      this.chooser.className = "cg-slider";
      this.chooser.min = "0";
      this.chooser.step = "1";
      this.chooser.title = "Drag to any step";
      this.chooser.setAttribute("aria-label", "Step");
      this.chooser.oninput = () => this.user(Number(this.chooser.value));
    }
    this.position = document.createElement("span");
    this.position.className = "cg-position";
    this.position.setAttribute("aria-live", "polite");
    bar.append(this.chooser, this.position);
    this.bar = bar;
    root.addEventListener("keydown", (event) => this.key(event));
  }

  user(i) {  // a person's request: stop playing, then go
    if (this.timer) this.pause();
    this.go(Math.max(0, Math.min(i, this.count() - 1)));
  }

  key(event) {
    const tag = event.target.tagName;
    if (tag === "SELECT" || tag === "INPUT" && event.target.type !== "range") return;
    const moves = { ArrowLeft: this.index - 1, ArrowRight: this.index + 1, Home: 0,
                    End: this.count() - 1 };
    if (!(event.key in moves) || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    event.stopPropagation();  // JupyterLab would move between cells
    this.user(moves[event.key]);
  }

  play() {
    if (this.index >= this.count() - 1) this.go(0);
    this.buttons.play.innerHTML = cgIcon("pause");
    this.buttons.play.title = "Pause";
    this.buttons.play.setAttribute("aria-label", "Pause");
    this.buttons.play.setAttribute("aria-pressed", "true");
    this.timer = setInterval(() => {
      if (this.index >= this.count() - 1) this.pause();
      else this.go(this.index + 1);
    }, this.playMs);
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.buttons.play.innerHTML = cgIcon("play");
    this.buttons.play.title = "Play";
    this.buttons.play.setAttribute("aria-label", "Play");
    this.buttons.play.setAttribute("aria-pressed", "false");
  }

  update(index, position) {
    this.index = index;
    const last = this.count() - 1;
    this.buttons.first.disabled = this.buttons.prev.disabled = index <= 0;
    this.buttons.next.disabled = this.buttons.last.disabled = index >= last;
    this.buttons.play.disabled = last <= 0;
    if (this.chooser.type === "range") this.chooser.max = String(last);
    this.chooser.value = String(index);
    this.position.textContent = position;
  }
}

function cgZoomButtons(view) {
  const bar = document.createElement("div");
  bar.className = "cg-zoom";
  const out = cgButton("zoom-out", "zoomOut", "Zoom out");
  const fit = cgButton("fit", "fit", "Fit the drawing into the box");
  const zin = cgButton("zoom-in", "zoomIn", "Zoom in");
  out.onclick = () => view.zoom(1 / 1.25);
  fit.onclick = () => view.fit();
  zin.onclick = () => view.zoom(1.25);
  bar.append(out, fit, zin);
  return bar;
}
