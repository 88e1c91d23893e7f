package api_test

// The in-page accessibility check of the browser test, in plain JavaScript
// (axe-core is not at hand offline): it looks at what WCAG 2.1 AA asks of
// the page and a program can decide, on what is rendered.

// a11yCheck evaluates to the list of problems of the page as shown.
const a11yCheck = `(() => {
  const problems = [];
  const shown = (e) => {
    if (e.closest('[hidden]')) return false;
    const s = getComputedStyle(e);
    return s.display !== 'none' && s.visibility !== 'hidden' && e.getClientRects().length > 0;
  };
  const painted = (e) => { const r = e.getBoundingClientRect(); return shown(e) && r.width > 1 && r.height > 1; };
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
    ' «' + (e.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40) + '»';
  const text = (e) => (e ? (e.textContent || '').replace(/\s+/g, ' ').trim() : '');
  const name = (e) => {
    const by = e.getAttribute('aria-labelledby');
    if (by) return by.split(/\s+/).map((id) => text(document.getElementById(id))).join(' ').trim();
    const al = (e.getAttribute('aria-label') || '').trim();
    if (al) return al;
    if (e.labels && e.labels.length) return [...e.labels].map(text).join(' ').trim();
    const t = text(e);
    if (t) return t;
    const img = e.querySelector('img[alt]');
    if (img && img.alt.trim()) return img.alt.trim();
    return (e.getAttribute('title') || '').trim();
  };

  if (document.documentElement.lang !== 'it') problems.push('html lang is "' + document.documentElement.lang + '", not "it"');
  if (!document.title.trim()) problems.push('the page has no title');

  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('image without alt: ' + img.src);

  for (const c of document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')) {
    if (!shown(c)) continue;
    const by = c.getAttribute('aria-labelledby');
    const visibleLabel = [...(c.labels || [])].some((l) => painted(l) && text(l)) || (by && by.split(/\s+/).some((id) => {
      const l = document.getElementById(id); return l && painted(l) && text(l);
    }));
    if (!visibleLabel) problems.push('form control without a visible label: ' + describe(c));
  }

  for (const b of document.querySelectorAll('a[href], button, [role=button], summary')) {
    if (!shown(b)) continue;
    const n = name(b);
    if (!n) { problems.push('control without an accessible name: ' + describe(b)); continue; }
    const seen = text(b);
    if (b.getAttribute('aria-label') && seen && !n.toLowerCase().includes(seen.toLowerCase())) {
      problems.push('accessible name «' + n + '» does not contain the visible text «' + seen + '»');
    }
  }

  const ids = {};
  for (const e of document.querySelectorAll('[id]')) ids[e.id] = (ids[e.id] || 0) + 1;
  for (const [id, n] of Object.entries(ids)) if (n > 1) problems.push('id "' + id + '" used ' + n + ' times');

  const heads = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(shown);
  if (!heads.length || heads[0].tagName !== 'H1') problems.push('the first heading is not an h1: ' + (heads[0] ? describe(heads[0]) : 'no heading'));
  if (heads.filter((h) => h.tagName === 'H1').length !== 1) problems.push('not exactly one h1');
  for (let i = 1; i < heads.length; i++) {
    const prev = Number(heads[i - 1].tagName[1]);
    const cur = Number(heads[i].tagName[1]);
    if (cur > prev + 1) problems.push('heading level skipped: ' + describe(heads[i - 1]) + ' then ' + describe(heads[i]));
  }

  // Contrast of every painted text against what is behind it.
  const rgba = (s) => { const m = s.match(/[\d.]+/g); return m ? m.map(Number).concat(m.length === 3 ? [1] : []) : [0, 0, 0, 0]; };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const background = (e) => {
    const layers = [];
    for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  };
  const ratio = (a, b) => { const x = lum(a); const y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  window.__contrast = (fg, e) => ratio(over(rgba(fg), background(e)), background(e));
  for (const e of document.querySelectorAll('body *')) {
    if (!painted(e) || ['SCRIPT', 'STYLE', 'OPTION'].includes(e.tagName)) continue;
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const s = getComputedStyle(e);
    const bg = background(e);
    const r = ratio(over(rgba(s.color), bg), bg);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    if (r < (large ? 3 : 4.5)) problems.push('contrast ' + r.toFixed(2) + ':1 of ' + describe(e) + ' (' + s.color + ' on rgb(' + bg.slice(0, 3).join(', ') + '))');
  }
  return problems;
})()`

// focusRing evaluates to a problem with the focus ring of the element that
// has the focus, or "".
const focusRing = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return 'nothing has the focus';
  const s = getComputedStyle(e);
  const what = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' «' + (e.textContent || '').trim().slice(0, 30) + '»';
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) return 'no focus ring on ' + what + ': outline ' + s.outline;
  const r = window.__contrast(s.outlineColor, e.parentElement || e);
  if (r < 3) return 'focus ring of ' + what + ' has contrast ' + r.toFixed(2) + ':1 (' + s.outlineColor + ')';
  return '';
})()`
