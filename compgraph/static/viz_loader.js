// viz_loader.js — the WebAssembly Graphviz (@viz-js/viz, vendored in static/vendor/), loaded only
// when a drawing has no SVG yet. Its source text comes from the host (the kernel sends it as a
// binary buffer; the standalone export carries it inline) and is imported from a Blob URL: no
// network, no CDN. One instance serves every widget on the page.
function cgVizInstance(host) {
  const key = "__compgraphViz";
  if (!globalThis[key]) {
    globalThis[key] = (async () => {
      const source = await host.vizSource();
      const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      try {
        const module = await import(/* webpackIgnore: true */ url);
        return await module.instance();
      } finally {
        URL.revokeObjectURL(url);
      }
    })();
    globalThis[key].catch(() => { delete globalThis[key]; });  // a later widget may retry
  }
  return globalThis[key];
}

async function cgLayout(host, dot) {
  const viz = await cgVizInstance(host);
  return viz.renderString(dot, { format: "svg", engine: "dot" });
}
