// course.js — the static pages' own script: typeset the math of the Markdown with KaTeX
// (vendored in assets/katex, loaded before this file). The widgets are drawn by the widget
// manager (assets/embed-amd.js), which the page starts itself; a widget saved by a kernel that
// had no graphviz `dot` lays its graph out in the browser with the WebAssembly graphviz, which
// here comes from the site (assets/viz.js) instead of from a kernel.
window.compgraphVizSource = () => fetch("assets/viz.js").then((r) => {
  if (!r.ok) throw new Error(`assets/viz.js: ${r.status}`);
  return r.text();
});
(function () {
  function typeset() {
    const places = document.querySelectorAll(".jp-RenderedMarkdown, .cg-math");
    for (const place of places) {
      window.renderMathInElement(place, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "\\[", right: "\\]", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false },
        ],
        throwOnError: false,  // a formula KaTeX cannot read stays visible, marked in red
      });
    }
    document.documentElement.dataset.math = "typeset";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", typeset);
  else typeset();
})();
