// explanation.js — the step's explanation, in a box of fixed height (the tallest step's), so
// nothing below it moves while stepping; and the status line for errors.
function cgExplanation(steps) {
  const box = document.createElement("pre");
  box.className = "cg-explanation";
  const lines = Math.max(1, ...steps.map((s) => (s.explanation || "").split("\n").length));
  box.style.height = `calc(${lines * 1.45}em + 14px)`;
  return box;
}

function cgStatus() {
  const box = document.createElement("div");
  box.className = "cg-status";
  box.setAttribute("role", "status");
  return box;
}
