// Injected (by test_report_html.sh) at the end of a copy of an HTML report, run by headless chromium with
// --dump-dom: counts the tables and figures, and lists every element whose box leaves the page width and
// every SVG text that leaves its figure. The result goes into the DOM as <pre id="mer-check">.
(function () {
  const W = document.documentElement.clientWidth;
  const bad = [];
  const what = (e) => e.tagName + ' "' + (e.textContent || '').trim().slice(0, 60) + '"';
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > W + 0.5 || r.left < -0.5) bad.push('outside the page (' + Math.round(r.right) + ' > ' + W + '): ' + what(e));
  }
  for (const s of document.querySelectorAll('svg')) {
    const b = s.getBoundingClientRect();
    for (const t of s.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.right > b.right + 0.5 || r.left < b.left - 0.5 || r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5)
        bad.push('outside its figure (' + Math.round(r.right - b.left) + ' > ' + Math.round(b.width) + '): ' + what(t));
    }
  }
  const out = document.createElement('pre');
  out.id = 'mer-check';
  out.textContent = 'MER-CHECK tables=' + document.querySelectorAll('table').length +
    ' svgs=' + document.querySelectorAll('svg').length + ' page=' + W +
    ' scroll=' + document.documentElement.scrollWidth + ' bad=' + bad.length + '\n' + bad.slice(0, 20).join('\n');
  document.body.appendChild(out);
})();
