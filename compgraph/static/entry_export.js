// entry_export.js — a standalone page: the host is data written into the page itself.
function cgPageHost(data) {
  let step = data.step || 0;
  let drawn = null;
  return {
    scene: () => data.scene,
    step: () => step,
    setStep: (i) => { step = i; },
    status: () => "",
    drawnSvg: () => drawn,
    setDrawnSvg: (d) => { drawn = d; },
    vizSource: async () => {
      const carrier = document.getElementById("cg-viz-source");
      if (!carrier) throw new Error("this page carries no drawing engine");
      return carrier.textContent;
    },
  };
}

for (const holder of document.querySelectorAll("[data-cg-scene]")) {
  const data = JSON.parse(document.getElementById(holder.dataset.cgScene).textContent);
  cgMount(holder, cgPageHost(data));
}
