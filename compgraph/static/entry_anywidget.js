// entry_anywidget.js — the widget's host is its anywidget model (synced traits, custom messages).
function cgModelHost(model) {
  const save = () => { try { model.save_changes(); } catch (e) { /* no kernel: keep going */ } };
  return {
    scene: () => model.get("scene"),
    step: () => model.get("step"),
    setStep: (i) => { if (model.get("step") !== i) { model.set("step", i); save(); } },
    status: () => model.get("status"),
    drawnSvg: () => model.get("drawn_svg"),
    setDrawnSvg: (drawn) => { model.set("drawn_svg", drawn); save(); },
    setInput: (name, value) => {
      model.set("inputs", { ...model.get("inputs"), [name]: value });
      save();
    },
    onChange: (name, callback) => {
      model.on(`change:${name}`, callback);
      return () => model.off(`change:${name}`, callback);
    },
    // A page with no kernel behind it that carries the drawing engine itself (the course's web
    // pages define compgraphVizSource); otherwise the kernel sends it.
    vizSource: () => (typeof globalThis.compgraphVizSource === "function"
      ? globalThis.compgraphVizSource() : new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        model.off("msg:custom", answer);
        reject(new Error("the kernel did not send the drawing engine (is it running?)"));
      }, 20000);
      function answer(msg, buffers) {
        if (!msg || msg.type !== "viz") return;
        clearTimeout(timer);
        model.off("msg:custom", answer);
        if (!buffers || !buffers.length) reject(new Error(msg.error || "no drawing engine"));
        else resolve(new TextDecoder().decode(buffers[0]));
      }
      model.on("msg:custom", answer);
      model.send({ type: "viz" });
    })),
  };
}

export default {
  render({ model, el }) {
    return cgMount(el, cgModelHost(model));
  },
};
