// legend.js — the key under every widget: fills of the node roles and the line styles of the
// highlights (colour and dash together, never colour alone).
const CG_LINES = {
  "current-forward": { stroke: "#0072b2", width: 3.5, dash: "", box: true },
  "current-backward": { stroke: "#d55e00", width: 3.5, dash: "7 4" },
  done: { stroke: "#d55e00", width: 2, dash: "" },
  path: { stroke: "#cc79a7", width: 3.5, dash: "" },
};

function cgLegend(items) {
  const box = document.createElement("div");
  box.className = "cg-legend";
  box.setAttribute("aria-label", "Key to the drawing");
  for (const item of items) {
    const span = document.createElement("span");
    span.className = "cg-item";
    let art;
    if (item.swatch === "node") {
      art = `<rect x="2" y="1" width="24" height="12" rx="3" fill="${item.fill}" `
        + `stroke="${item.border}" stroke-width="2"/>`;
    } else {
      const line = CG_LINES[item.swatch];
      art = line.box
        ? `<rect x="2" y="1" width="24" height="12" rx="3" fill="#ffffff" stroke="${line.stroke}" `
          + `stroke-width="3"/>`
        : `<line x1="1" y1="7" x2="27" y2="7" stroke="${line.stroke}" stroke-width="${line.width}" `
          + `stroke-dasharray="${line.dash}"/>`;
    }
    span.innerHTML = `<svg viewBox="0 0 28 14" aria-hidden="true">${art}</svg>`;
    span.append(document.createTextNode(item.text));
    box.append(span);
  }
  return box;
}
