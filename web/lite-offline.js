// lite-offline.js — put into every page of the JupyterLite site by run.py (build_lite). The
// site's Python kernel is Pyodide, which the browser downloads from a CDN when the kernel starts.
// Where that address cannot be reached (offline, or a school's network filter), JupyterLite would
// only show a kernel that never starts. This asks the CDN once, and if it does not answer, says
// so at the top of the page and points to what works without it.
// run.py fills in PYODIDE_URL (the address the kernel will load) and PAGES (the course's static
// pages, relative to this page, or "" when the site was built without them).
(function () {
  const PYODIDE_URL = "__PYODIDE_URL__";
  const PAGES = "__PAGES__";
  const WAIT_MS = 20000;
  const host = (() => { try { return new URL(PYODIDE_URL).host; } catch (e) { return "a CDN"; } })();

  function pageFor() {  // the static page of the notebook this URL opens, else the contents
    const path = new URLSearchParams(window.location.search).get("path") || "";
    const match = path.match(/([^/]+)\.ipynb$/);
    return PAGES + (match ? match[1] + ".html" : "index.html");
  }

  function show(reason) {
    if (document.getElementById("cg-offline")) return;
    const box = document.createElement("div");
    box.id = "cg-offline";
    box.setAttribute("role", "alert");
    box.style.cssText = "position: fixed; z-index: 100000; top: 0; left: 0; right: 0; "
      + "padding: 12px 48px 12px 16px; background: #fff4e5; color: #1a1a1a; "
      + "border-bottom: 2px solid #b35900; font: 15px/1.5 system-ui, sans-serif;";
    const read = PAGES
      ? `You can still read every notebook, with its widgets stepping, on <a href="${pageFor()}" `
        + `style="color: #0b5cad">the course's web pages</a>, which need no download. `
      : "";
    box.innerHTML = `<strong>Python cannot start here.</strong> This page runs Python inside `
      + `your browser, and the browser has to download it (Pyodide) from ${host} first, but `
      + `${reason}: perhaps you are offline, or a network filter blocks that address. ${read}`
      + `To run the notebooks, use a connection that reaches ${host}, or run them on your `
      + `computer with <code>python3 run.py lab</code> in a copy of the course's repository.`;
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.title = "Close this message";
    close.setAttribute("aria-label", "Close this message");
    close.style.cssText = "position: absolute; top: 8px; right: 12px; font-size: 20px; "
      + "background: none; border: none; color: #1a1a1a; cursor: pointer;";
    close.onclick = () => box.remove();
    box.append(close);
    document.body.append(box);
  }

  function probe() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), WAIT_MS);
    fetch(PYODIDE_URL, { method: "HEAD", mode: "no-cors", cache: "no-store",
                         signal: controller.signal })
      .then(() => clearTimeout(timer))
      .catch(() => {
        clearTimeout(timer);
        show(controller.signal.aborted ? `${host} did not answer within ${WAIT_MS / 1000} s`
                                       : `${host} cannot be reached from this browser`);
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", probe);
  else probe();
})();
