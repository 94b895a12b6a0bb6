// Measurements in the page; see measure.py. Loaded as one function body per measurement.
const canvas = document.createElement('canvas').getContext('2d');
function rgba(colour) {
  if (!colour || colour === 'none' || colour.startsWith('url(')) return null;
  canvas.fillStyle = '#010203'; canvas.fillStyle = colour;
  const c = canvas.fillStyle;
  if (c === '#010203' && colour.replace(/\s/g, '') !== 'rgb(1,2,3)') return null;
  if (c.startsWith('#')) return [1, 3, 5].map(i => parseInt(c.slice(i, i + 2), 16)).concat([1]);
  const v = c.match(/[\d.]+/g).map(Number);
  return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
}
function over(top, bottom) {  // top (with alpha) painted over an opaque bottom
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
}
function luminance(c) {
  const [r, g, b] = c.slice(0, 3).map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function ratio(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}
const hex = c => '#' + c.slice(0, 3).map(v => Math.round(v).toString(16).padStart(2, '0')).join('');
function parentOf(el) { return el.parentElement || (el.getRootNode && el.getRootNode().host) || null; }
function htmlBackground(el) {  // the opaque colour behind el, from its ancestors' backgrounds
  const layers = [];
  for (let e = el; e; e = parentOf(e)) {
    if (e.namespaceURI === 'http://www.w3.org/2000/svg' && e.tagName.toLowerCase() !== 'svg') continue;
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let colour = [255, 255, 255, 1];  // the canvas of a page without any background
  for (const layer of layers.reverse()) colour = over(layer, colour);
  return colour;
}
function alphaOf(el, colour, which) {
  const cs = getComputedStyle(el);
  let a = colour[3] * parseFloat(cs[which + 'Opacity'] || '1');
  for (let e = el; e && e.tagName && e.tagName.toLowerCase() !== 'svg'; e = e.parentElement)
    a *= parseFloat(getComputedStyle(e).opacity || '1');
  return colour.slice(0, 3).concat([a]);
}
const SHAPES = 'rect, circle, ellipse, polygon, path';
function svgBackgroundAt(svg, x, y, base, before) {  // filled shapes under the point (x, y)
  let colour = base;
  for (const shape of svg.querySelectorAll(SHAPES)) {
    if (before && !(shape.compareDocumentPosition(before) & Node.DOCUMENT_POSITION_FOLLOWING)) continue;
    const cs = getComputedStyle(shape);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    const fill = rgba(cs.fill);
    if (!fill) continue;
    const m = shape.getScreenCTM();
    if (!m) continue;
    const p = new DOMPoint(x, y).matrixTransform(m.inverse());
    if (shape.isPointInFill(p)) colour = over(alphaOf(shape, fill, 'fill'), colour);
  }
  return colour;
}
function svgTexts(svg, base, scale, where, visibleOnly) {
  const out = [];
  for (const t of svg.querySelectorAll('text')) {
    const text = t.textContent.trim();
    if (!text) continue;
    const cs = getComputedStyle(t);
    if (visibleOnly && (cs.visibility === 'hidden' || cs.display === 'none')) continue;
    const r = t.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const fill = rgba(cs.fill);
    if (!fill) continue;
    const x = r.x + r.width / 2, y = r.y + r.height / 2;
    const bg = svgBackgroundAt(svg, x, y, base, t);
    const fg = over(alphaOf(t, fill, 'fill'), bg);
    const m = t.getScreenCTM();
    const px = parseFloat(cs.fontSize) * Math.hypot(m.a, m.b) * scale;
    out.push({where, text: text.slice(0, 40), fg: hex(fg), bg: hex(bg),
              ratio: Math.round(ratio(fg, bg) * 100) / 100, px: Math.round(px * 10) / 10});
  }
  return out;
}
function htmlTexts(root, where) {
  const out = [];
  const all = [root, ...root.querySelectorAll('*')];
  for (const el of all) {
    if (el.closest('svg') || ['SCRIPT', 'STYLE', 'OPTION'].includes(el.tagName)) continue;
    let text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (el.tagName === 'SELECT') text = el.selectedOptions[0]?.textContent.trim() || '';
    if (!text) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const bg = htmlBackground(el);
    const fg = over(rgba(cs.color), bg);
    out.push({where, text: text.slice(0, 40), fg: hex(fg), bg: hex(bg),
              ratio: Math.round(ratio(fg, bg) * 100) / 100, px: parseFloat(cs.fontSize)});
  }
  return out;
}
function svgSource(img) {  // the SVG inside an <img src="data:image/svg+xml...">, or null
  const src = img.getAttribute('src') || '';
  const m = src.match(/^data:image\/svg\+xml(;[^,]*)?,(.*)$/s);
  if (!m) return null;
  return (m[1] || '').includes('base64') ? new TextDecoder().decode(
    Uint8Array.from(atob(m[2]), c => c.charCodeAt(0))) : decodeURIComponent(m[2]);
}
function withCopy(img, fn) {  // run fn(svg copy, scale) on a same-size copy of an <img>'s SVG
  const source = svgSource(img);
  if (!source) return null;
  const svg = new DOMParser().parseFromString(source, 'image/svg+xml').documentElement;
  if (svg.tagName.toLowerCase() !== 'svg') return null;
  const r = img.getBoundingClientRect();
  const host = document.createElement('div');
  host.style.cssText = `all: initial; position: fixed; left: ${r.x}px; top: ${r.y}px; ` +
                       `width: ${r.width}px; height: ${r.height}px; visibility: hidden; ` +
                       'pointer-events: none; z-index: -1';
  const shadow = host.attachShadow({mode: 'open'});
  const copy = document.importNode(svg, true);
  copy.setAttribute('width', r.width); copy.setAttribute('height', r.height);
  copy.style.display = 'block';
  shadow.appendChild(copy);
  document.body.appendChild(host);
  try { return fn(copy, 1); } finally { host.remove(); }
}
// Pictures: inline SVGs of the output areas outside widgets, and <img>s of SVG.
function staticPictures(scope) {
  const found = [];
  for (const out of scope.querySelectorAll('.jp-OutputArea-output')) {
    if (out.closest('.cg-widget') || out.querySelector('.cg-widget')) continue;
    for (const svg of out.querySelectorAll('svg')) {
      if (svg.closest('.cg-widget') || svg.parentElement.closest('svg')) continue;
      if (svg.getBoundingClientRect().width < 40) continue;  // icons, not pictures
      found.push({el: svg, out, kind: 'svg'});
    }
    for (const img of out.querySelectorAll('img'))
      if (svgSource(img)) found.push({el: img, out, kind: 'img'});
  }
  return found;
}
function cellIndex(el) {
  const cell = el.closest('.jp-Cell');
  return cell ? [...cell.parentElement.children].filter(c => c.classList.contains('jp-Cell')).indexOf(cell) : -1;
}

function texts(scopeSelector) {
  const scope = document.querySelector(scopeSelector) || document;
  const out = [];
  scope.querySelectorAll('.cg-widget').forEach((w, i) => {
    const where = `cell ${cellIndex(w)} ${w.dataset.kind || 'widget'} ${i}`;
    out.push(...htmlTexts(w, where));
    for (const svg of w.querySelectorAll('svg')) {
      if (svg.parentElement.closest('svg')) continue;
      out.push(...svgTexts(svg, htmlBackground(svg), 1, where + ' svg', true));
    }
    for (const img of w.querySelectorAll('img'))
      out.push(...(withCopy(img, (copy, s) => svgTexts(copy, htmlBackground(img), s, where + ' img', false)) || []));
  });
  for (const p of staticPictures(scope)) {
    const where = `cell ${cellIndex(p.el)} static ${p.kind}`;
    if (p.kind === 'svg') out.push(...svgTexts(p.el, htmlBackground(p.el), 1, where, true));
    else out.push(...(withCopy(p.el, (copy, s) => svgTexts(copy, htmlBackground(p.el), s, where, false)) || []));
  }
  return out;
}

function backgrounds(scopeSelector) {
  const scope = document.querySelector(scopeSelector) || document;
  const out = [];
  const sample = (svg, base) => {
    const r = svg.getBoundingClientRect();
    const points = [[3, 3], [r.width - 3, 3], [3, r.height - 3], [r.width - 3, r.height - 3]];
    const ls = points.map(([dx, dy]) => luminance(svgBackgroundAt(svg, r.x + dx, r.y + dy, base)));
    return ls.sort()[2];
  };
  scope.querySelectorAll('.cg-widget').forEach((w, i) => {
    const page = luminance(htmlBackground(w.closest('.jp-OutputArea') || w.parentElement));
    const svg = w.querySelector('.cg-picture svg');
    const card = svg ? sample(svg, htmlBackground(svg)) : luminance(htmlBackground(w));
    out.push({where: `cell ${cellIndex(w)} ${w.dataset.kind || 'widget'} ${i}`, page, card});
  });
  for (const p of staticPictures(scope)) {
    const page = luminance(htmlBackground(p.out));
    const card = p.kind === 'svg' ? sample(p.el, htmlBackground(p.el))
      : withCopy(p.el, copy => sample(copy, htmlBackground(p.el)));
    out.push({where: `cell ${cellIndex(p.el)} static ${p.kind}`, page, card});
  }
  return out;
}

function geometry([scopeSelector, allowScroll]) {
  const scope = document.querySelector(scopeSelector) || document;
  // el's rect cut by every ancestor up to `stop` that clips its overflow. The notebook's own
  // scroller is above `stop`: what is merely scrolled out of the window does not count.
  // With allowScroll, a box the learner can scroll (overflow auto or scroll) does not count either.
  const visibleRect = (el, stop, scrollable = allowScroll) => {
    const r = el.getBoundingClientRect();
    let [l, t, rt, b] = [r.left, r.top, r.right, r.bottom];
    let scrolled = false;
    for (let e = parentOf(el); e; e = parentOf(e)) {
      const cs = getComputedStyle(e);
      const q = e.getBoundingClientRect();
      const scrolls = v => v === 'auto' || v === 'scroll';
      // reachable by scrolling this box (checked as a part of its own): nothing above cuts it
      if (scrollable && e !== stop && (scrolls(cs.overflowX) || scrolls(cs.overflowY))) {
        scrolled = true; break; }
      if (cs.overflowX !== 'visible') { l = Math.max(l, q.left); rt = Math.min(rt, q.right); }
      if (cs.overflowY !== 'visible' && e !== stop) { t = Math.max(t, q.top); b = Math.min(b, q.bottom); }
      if (e === stop) break;
    }
    return {l, t, r: rt, b, full: r, scrolled};
  };
  const clipped = (el, out, scrollable = allowScroll) => {  // out: the output area
    const v = visibleRect(el, out, scrollable), r = v.full, tol = 1.5, area = out.getBoundingClientRect();
    const cut = v.l > r.left + tol || v.r < r.right - tol || v.t > r.top + tol || v.b < r.bottom - tol;
    const outside = !v.scrolled && (r.left < area.left - tol || r.right > area.right + tol);
    return cut || outside;
  };
  // cut off at the bottom of a box (a height cap), whether or not the box could scroll
  const clippedBelow = (el, box) => !!box &&
    el.getBoundingClientRect().bottom > box.getBoundingClientRect().bottom + 1.5;
  const nodeName = node => node.dataset.cg || node.id || node.querySelector('title')?.textContent;
  const widgets = [...scope.querySelectorAll('.cg-widget')].map((w, i) => {
    const out = w.closest('.jp-OutputArea-output') || w.parentElement;
    const area = out.getBoundingClientRect();
    const rect = w.getBoundingClientRect();
    const problems = [];
    for (const el of w.querySelectorAll('button, select, input, .cg-position, .cg-explanation, .cg-legend, .cg-picture, .cg-plot')) {
      if (el.getClientRects().length === 0) continue;
      if (clipped(el, out)) problems.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')}` +
        `${el.dataset.action ? '[' + el.dataset.action + ']' : ''} clipped or outside the output area`);
      if (el.tagName === 'BUTTON' && el.scrollWidth > el.clientWidth + 1)
        problems.push(`button ${el.dataset.action || el.textContent.trim()} text clipped (${el.scrollWidth} > ${el.clientWidth})`);
    }
    const controls = w.querySelector('.cg-controls');
    if (controls && controls.scrollWidth > controls.clientWidth + 1)
      problems.push(`controls overflow their row (${controls.scrollWidth} > ${controls.clientWidth}): no wrap`);
    const svg = w.querySelector('.cg-picture svg');
    let minText = null;
    if (svg) {
      // A still picture shows every node (no height cap; too wide to fit at 10 px text, it may
      // scroll sideways in its own box); a stepping widget may scroll a big graph in its box.
      if (!w.querySelector('.cg-controls'))
        for (const node of svg.querySelectorAll('g.node'))
          if (clipped(node, out, true) || clippedBelow(node, svg.closest('.cg-picture'))) {
            problems.push(`graph node ${nodeName(node)} clipped`); break; }
      const px = svgTexts(svg, [255, 255, 255, 1], 1, '', true).map(t => t.px);
      minText = px.length ? Math.min(...px) : null;
    }
    return {where: `cell ${cellIndex(w)} ${w.dataset.kind || 'widget'} ${i}`, kind: w.dataset.kind || null,
            height: Math.round(rect.height),
            width: Math.round(rect.width), areaWidth: Math.round(area.width), minText, problems};
  });
  const pictures = staticPictures(scope).map(p => {
    const col = p.out.getBoundingClientRect();
    // an <img> too wide to fit at 10 px text scrolls sideways in its own box: the box must fit
    const holder = p.el.parentElement;
    const scrolls = p.kind === 'img' && holder && /auto|scroll/.test(getComputedStyle(holder).overflowX);
    const r = (scrolls ? holder : p.el).getBoundingClientRect();
    const problems = [];
    if (r.right > col.right + 1) problems.push(`${Math.round(r.width)} px wide in a ${Math.round(col.width)} px column`);
    if (p.out.scrollWidth > p.out.clientWidth + 1) problems.push(`output scrolls sideways (${p.out.scrollWidth} > ${p.out.clientWidth})`);
    if (p.kind === 'svg')
      for (const node of p.el.querySelectorAll('g.node'))
        if (clipped(node, p.out)) { problems.push(`node ${nodeName(node)} clipped`); break; }
    const px = p.kind === 'svg' ? svgTexts(p.el, [255, 255, 255, 1], 1, '', true).map(t => t.px)
      : (withCopy(p.el, (copy, s) => svgTexts(copy, [255, 255, 255, 1], s, '', false)) || []).map(t => t.px);
    return {where: `cell ${cellIndex(p.el)} static ${p.kind}`, width: Math.round(r.width),
            column: Math.round(col.width), minText: px.length ? Math.min(...px) : null, problems};
  });
  return {widgets, pictures};
}

// Per output that holds a widget (or failed to): a compgraph widget, another ipywidget, or nothing?
function widgetOutputs(scopeSelector) {
  const scope = document.querySelector(scopeSelector) || document;
  const cells = [...scope.querySelectorAll('.jp-Cell')];
  return [...scope.querySelectorAll('.jp-OutputArea-output')]
    .filter(o => o.classList.contains('jupyter-widgets') || o.querySelector('.jupyter-widgets, .cg-widget')
                 || /Error displaying widget/.test(o.innerText))
    .map(o => ({cell: cells.indexOf(o.closest('.jp-Cell')),
                cg: o.querySelectorAll('.cg-widget').length,
                ipywidget: !!o.querySelector('.widget-box, .widget-slider, .widget-button, ' +
                                             '.widget-html, .widget-label, .widget-output'),
                text: o.innerText.slice(0, 90)}));
}
