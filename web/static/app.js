/* callwatch dashboard: a single page with hash routes, plain JavaScript.
 *
 * Every string that came off the wire (display names, URIs, user agents,
 * Call-IDs, SIP reason phrases) is hostile: it only ever reaches the page
 * as a text node or an attribute value, never parsed as markup, and no
 * string is ever run as code; the server's Content-Security-Policy forbids
 * inline script besides. */
'use strict';

(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2a6db0', '#c62828', '#2e7d32', '#d98200', '#7b3fa0', '#00838f', '#8d6e63', '#546e7a'];
  const SPANS = [['1 h', 3600], ['6 h', 21600], ['24 h', 86400], ['7 d', 604800], ['30 d', 2592000]];
  const OUTCOMES = ['answered', 'failed', 'cancelled', 'dropped', 'unanswered', 'active'];
  const REFRESH_MS = 10000;
  const PAGE_SIZE = 100;

  const state = { status: null, utc: false, timer: null, seq: 0, site: null };

  /* ---------------------------------------------------------------- DOM */

  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(e, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    return append(e, kids);
  }

  function sv(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    return append(e, kids);
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  function errorBox(err) {
    return el('p', { class: 'error' }, String(err && err.message ? err.message : err));
  }

  /* ---------------------------------------------------------------- routes */

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, '');
    const q = h.indexOf('?');
    const path = q < 0 ? h : h.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
    const slash = path.indexOf('/');
    let arg = null;
    if (slash >= 0) {
      try {
        arg = decodeURIComponent(path.slice(slash + 1));
      } catch (e) {
        arg = null;
      }
    }
    return { page: (slash < 0 ? path : path.slice(0, slash)) || 'overview', arg: arg, params: params };
  }

  function href(page, arg, params) {
    let s = '#/' + page;
    if (arg !== null && arg !== undefined) s += '/' + encodeURIComponent(String(arg));
    /* Every page keeps the site chosen (the central dashboard's selector). */
    if (state.site && !(params && 'site' in params)) params = Object.assign({ site: state.site }, params || {});
    if (params) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') p.set(k, v);
      const qs = p.toString();
      if (qs) s += '?' + qs;
    }
    return s;
  }

  function paramsObj(params) {
    const o = {};
    for (const [k, v] of params.entries()) o[k] = v;
    return o;
  }

  function go(page, arg, params) {
    location.hash = href(page, arg, params);
  }

  /* ---------------------------------------------------------------- API */

  async function api(path, params) {
    let url = path;
    if (state.site && path !== 'api/status') params = Object.assign({ site: state.site }, params || {});
    if (params) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') p.set(k, v);
      const qs = p.toString();
      if (qs) url += '?' + qs;
    }
    const res = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok) {
      const err = new Error((body && body.error) || res.status + ' ' + res.statusText);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function isCentral() {
    return !!(state.status && state.status.mode === 'central');
  }

  /* The central dashboard's summary of the site chosen, or null. */
  function siteInfo() {
    if (!isCentral() || !state.site) return null;
    return (state.status.sites || []).find((x) => x.site === state.site) || null;
  }

  /* The names of the series there are: the probe's latest values, or on
   * the central dashboard those of the site chosen (none for all sites). */
  function knownMetrics() {
    if (isCentral()) return (siteInfo() || {}).metrics || [];
    return Object.keys((state.status && state.status.latest) || {});
  }

  async function series(metric, range) {
    /* A series the probe has never produced is not asked for. */
    const known = knownMetrics();
    if (isCentral() && !state.site) return null;
    if (known.length && !known.includes(metric)) return null;
    try {
      return await api('api/series', { metric: metric, start: Math.floor(range.from), end: Math.ceil(range.to) });
    } catch (e) {
      if (e.status === 404) return null; /* no such series (yet) */
      throw e;
    }
  }

  /* ---------------------------------------------------------------- formats */

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  function tparts(t) {
    const d = new Date(t * 1000);
    return state.utc
      ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  }

  function fmtTime(t, noSeconds) {
    if (t === null || t === undefined || !isFinite(t)) return '\u2014';
    const p = tparts(t);
    return p[0] + '-' + pad(p[1]) + '-' + pad(p[2]) + ' ' + pad(p[3]) + ':' + pad(p[4]) + (noSeconds ? '' : ':' + pad(p[5]));
  }

  function inputValue(t) {
    const p = tparts(t);
    return p[0] + '-' + pad(p[1]) + '-' + pad(p[2]) + 'T' + pad(p[3]) + ':' + pad(p[4]);
  }

  function fromInput(v) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(v);
    if (!m) return null;
    const a = m.slice(1).map((x) => Number(x || 0));
    const ms = state.utc ? Date.UTC(a[0], a[1] - 1, a[2], a[3], a[4], a[5]) : new Date(a[0], a[1] - 1, a[2], a[3], a[4], a[5]).getTime();
    return Math.round(ms / 1000);
  }

  function tzOffset(t) {
    return state.utc ? 0 : -new Date(t * 1000).getTimezoneOffset() * 60;
  }

  function fmtNum(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '\u2014';
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    if (digits !== undefined) return v.toFixed(digits);
    return a >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(a >= 10 ? 1 : 2);
  }

  function fmtPct(v) {
    return v === null || v === undefined || !isFinite(v) ? '\u2014' : v.toFixed(v >= 10 ? 0 : 1) + ' %';
  }

  function fmtDur(s) {
    if (s === null || s === undefined || !isFinite(s)) return '\u2014';
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + pad(Math.round(s % 60)) + ' s';
    return Math.floor(s / 3600) + ' h ' + pad(Math.floor((s % 3600) / 60)) + ' min';
  }

  function outcomeTag(o) {
    return el('span', { class: 'outcome ' + (OUTCOMES.includes(o) ? o : '') }, o || '?');
  }

  function callMos(c) {
    let m = null;
    for (const s of c.streams || []) if (typeof s.mos === 'number' && (m === null || s.mos < m)) m = s.mos;
    return m;
  }

  /* ---------------------------------------------------------------- ranges */

  function probeNow() {
    const st = state.status;
    return st && st.now > 0 ? st.now : Date.now() / 1000;
  }

  function isLive() {
    const st = state.status;
    return !!(st && st.capture && st.capture.mode === 'live');
  }

  function captureRange() {
    const st = state.status;
    if (st && st.mode === 'central') {
      /* The period the records of the site (or of every site) cover. */
      const list = siteInfo() ? [siteInfo()] : st.sites || [];
      const firsts = list.map((x) => x.first).filter((x) => x > 0);
      const lasts = list.map((x) => x.last).filter((x) => x > 0);
      if (!firsts.length) return null;
      const step = 10;
      const from = Math.floor(Math.min(...firsts) / step) * step;
      let to = Math.ceil(Math.max(...lasts) / step) * step + step;
      if (to - from < 60) to = from + 60;
      return { from: from, to: to };
    }
    if (!st || !st.capture || !(st.capture.start > 0)) return null;
    const step = st.step || 10;
    const from = Math.floor(st.capture.start / step) * step;
    let to = Math.ceil(st.capture.end / step) * step;
    if (to - from < 60) to = from + 60;
    return { from: from, to: to };
  }

  /* The range a page shows: from/to in the hash, a span back from now, or
   * by default the capture's own period offline and the last hour live. */
  function currentRange(params) {
    const f = Number(params.get('from'));
    const t = Number(params.get('to'));
    if (params.get('from') && params.get('to') && isFinite(f) && isFinite(t) && t > f) return { from: f, to: t, live: false };
    const span = Number(params.get('span'));
    const now = probeNow();
    if (span > 0) return { from: now - span, to: now, live: isLive(), span: span };
    const cap = captureRange();
    if (!isLive() && cap) return { from: cap.from, to: cap.to, live: false, capture: true };
    return { from: now - 3600, to: now, live: isLive(), span: 3600 };
  }

  function rangeBar(page, params, range) {
    const base = paramsObj(params);
    delete base.offset;
    const fromIn = el('input', { type: 'datetime-local', value: inputValue(range.from), 'aria-label': 'from' });
    const toIn = el('input', { type: 'datetime-local', value: inputValue(range.to), 'aria-label': 'to' });
    const cap = captureRange();
    const kids = SPANS.map(([label, s]) =>
      el('button', {
        type: 'button',
        class: range.span === s ? 'on' : null,
        onclick: () => go(page, null, Object.assign({}, base, { span: s, from: null, to: null })),
      }, label));
    if (!isLive() && cap) {
      kids.push(el('button', {
        type: 'button',
        class: range.capture || (range.from === cap.from && range.to === cap.to) ? 'on' : null,
        title: 'the period the capture covers',
        onclick: () => go(page, null, Object.assign({}, base, { span: null, from: cap.from, to: cap.to })),
      }, 'Capture'));
    }
    kids.push(el('span', { class: 'sep' }));
    kids.push(el('label', null, 'From ', fromIn), el('label', null, 'to ', toIn));
    kids.push(el('button', {
      type: 'button',
      class: 'apply',
      onclick: () => {
        const a = fromInput(fromIn.value);
        const b = fromInput(toIn.value);
        if (a !== null && b !== null && b > a) go(page, null, Object.assign({}, base, { span: null, from: a, to: b }));
      },
    }, 'Apply'));
    if (range.live) kids.push(el('span', { class: 'live', title: 'refreshes every ' + REFRESH_MS / 1000 + ' s' }, 'live'));
    return el('div', { class: 'rangebar' }, kids);
  }

  /* ---------------------------------------------------------------- graphs */

  const hoverTargets = new Set();

  function broadcastHover(t) {
    for (const g of Array.from(hoverTargets)) {
      if (!g.svg.isConnected) hoverTargets.delete(g);
      else g.show(t);
    }
  }

  function niceCeil(v) {
    if (!(v > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= v) return m * e;
    return 10 * e;
  }

  function tickStep(span) {
    const steps = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
    for (const s of steps) if (span / s <= 8) return s;
    return 1209600;
  }

  function tickLabel(t, span) {
    const p = tparts(t);
    const hm = pad(p[3]) + ':' + pad(p[4]);
    return span > 2 * 86400 ? pad(p[1]) + '-' + pad(p[2]) + (p[3] || p[4] ? ' ' + hm : '') : hm;
  }

  /* lines: [{label, points: [[t, v], ...], step}] on [range.from, range.to]. */
  function drawGraph(lines, range, opts) {
    const W = 1000, H = opts.height || 210, L = 62, R = 14, T = 10, B = 24;
    const pw = W - L - R, ph = H - T - B;
    const span = range.to - range.from;
    let ymin = opts.yMin !== undefined ? opts.yMin : 0;
    let ymax = opts.yMax;
    if (ymax === undefined) {
      let m = 0;
      for (const l of lines) for (const p of l.points) if (p[1] !== null && p[0] >= range.from && p[0] <= range.to && p[1] > m) m = p[1];
      ymax = niceCeil(m);
    }
    if (ymax <= ymin) ymax = ymin + 1;
    const x = (t) => L + ((t - range.from) / span) * pw;
    const y = (v) => T + ph - ((Math.min(Math.max(v, ymin), ymax) - ymin) / (ymax - ymin)) * ph;
    const svg = sv('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': opts.title || '', 'data-from': range.from, 'data-to': range.to });

    for (let i = 0; i <= 4; i++) {
      const v = ymin + ((ymax - ymin) * i) / 4;
      svg.appendChild(sv('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      svg.appendChild(sv('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtNum(v) + (opts.unit || '')));
    }
    const step = tickStep(span);
    const off = tzOffset(range.from);
    for (let t = Math.ceil((range.from + off) / step) * step - off; t <= range.to; t += step) {
      svg.appendChild(sv('line', { class: 'grid', x1: x(t), x2: x(t), y1: T, y2: T + ph }));
      svg.appendChild(sv('text', { x: x(t), y: H - 6, 'text-anchor': 'middle' }, tickLabel(t, span)));
    }
    svg.appendChild(sv('line', { class: 'axis', x1: L, x2: W - R, y1: T + ph, y2: T + ph }));
    for (const w of opts.shade || []) {
      const a = Math.max(range.from, w.start);
      const b = Math.min(range.to, w.end || range.to);
      if (b >= a) svg.appendChild(sv('rect', { class: 'shade', x: x(a), y: T, width: Math.max(2, x(b) - x(a)), height: ph }));
    }
    lines.forEach((l, i) => {
      const color = COLORS[i % COLORS.length];
      const gap = (l.step || 10) * 2.5;
      let d = '';
      let prev = null;
      let single = null;
      for (const [t, v] of l.points) {
        if (t < range.from || t > range.to || v === null) {
          prev = null;
          continue;
        }
        const cmd = prev !== null && t - prev <= gap ? 'L' : 'M';
        d += cmd + x(t).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
        single = cmd === 'M' ? [t, v] : null;
        prev = t;
      }
      if (d) svg.appendChild(sv('path', { class: 'series', d: d, stroke: color }));
      if (single && l.points.filter((p) => p[1] !== null).length === 1) svg.appendChild(sv('circle', { cx: x(single[0]), cy: y(single[1]), r: 3, fill: color }));
      svg.appendChild(sv('rect', { x: L + 8 + i * 170, y: T + 2, width: 10, height: 10, fill: color }));
      svg.appendChild(sv('text', { x: L + 22 + i * 170, y: T + 11, class: 'readout' }, l.label));
    });

    /* Crosshair shared by every graph on the page, drag to zoom. */
    const cross = sv('line', { class: 'cross', y1: T, y2: T + ph, visibility: 'hidden' });
    const readout = sv('text', { class: 'readout', y: T + ph - 6 });
    const sel = sv('rect', { class: 'select', y: T, height: ph, width: 0, visibility: 'hidden' });
    const overlay = sv('rect', { class: 'overlay', x: L, y: T, width: pw, height: ph });
    svg.append(cross, readout, sel, overlay);
    const toT = (ev) => {
      const r = svg.getBoundingClientRect();
      const sx = ((ev.clientX - r.left) / r.width) * W;
      return range.from + ((Math.min(Math.max(sx, L), L + pw) - L) / pw) * span;
    };
    const g = {
      svg: svg,
      show(t) {
        if (t === null || t < range.from || t > range.to) {
          cross.setAttribute('visibility', 'hidden');
          readout.textContent = '';
          return;
        }
        cross.setAttribute('x1', x(t));
        cross.setAttribute('x2', x(t));
        cross.setAttribute('visibility', 'visible');
        const vals = lines.map((l) => {
          let best = null;
          for (const p of l.points) if (p[1] !== null && (best === null || Math.abs(p[0] - t) < Math.abs(best[0] - t))) best = p;
          return best && Math.abs(best[0] - t) <= (l.step || 10) * 1.5 ? fmtNum(best[1]) + (opts.unit || '') : '\u2014';
        });
        readout.textContent = fmtTime(t) + '  ' + vals.join(' / ');
        const right = x(t) > L + pw * 0.6;
        readout.setAttribute('x', right ? x(t) - 6 : x(t) + 6);
        readout.setAttribute('text-anchor', right ? 'end' : 'start');
      },
    };
    hoverTargets.add(g);
    let dragFrom = null;
    overlay.addEventListener('mousemove', (ev) => {
      const t = toT(ev);
      broadcastHover(t);
      if (dragFrom !== null) {
        sel.setAttribute('x', Math.min(x(dragFrom), x(t)));
        sel.setAttribute('width', Math.abs(x(t) - x(dragFrom)));
        sel.setAttribute('visibility', 'visible');
      }
    });
    overlay.addEventListener('mouseleave', () => broadcastHover(null));
    overlay.addEventListener('mousedown', (ev) => {
      dragFrom = toT(ev);
      ev.preventDefault();
    });
    overlay.addEventListener('mouseup', (ev) => {
      if (dragFrom === null) return;
      const a = Math.min(dragFrom, toT(ev));
      const b = Math.max(dragFrom, toT(ev));
      dragFrom = null;
      sel.setAttribute('visibility', 'hidden');
      if (b - a >= span / 200 && b - a >= 10 && opts.onZoom) opts.onZoom(Math.floor(a), Math.ceil(b));
    });
    return svg;
  }

  /* A titled graph whose lines load asynchronously. */
  function graphPanel(title, range, load, opts) {
    opts = Object.assign({ title: title }, opts || {});
    const holder = el('div', { class: 'plot' }, el('span', { class: 'muted' }, 'loading\u2026'));
    const fig = el('figure', { class: 'graph', 'data-title': title }, el('figcaption', null, title), holder);
    Promise.resolve()
      .then(load)
      .then((lines) => {
        lines = (lines || []).filter(Boolean);
        clear(holder);
        if (!lines.length) holder.appendChild(el('p', { class: 'muted nodata' }, 'no samples in this range'));
        else holder.appendChild(drawGraph(lines, range, opts));
      })
      .catch((e) => {
        clear(holder);
        holder.appendChild(errorBox(e));
      });
    return fig;
  }

  function lineOf(s, label, scale) {
    if (!s) return null;
    const k = typeof scale === 'function' ? scale(s) : scale || 1;
    return { label: label, step: s.step, points: s.points.map(([t, v]) => [t, v === null ? null : v * k]) };
  }

  /* num/den per step, in percent. */
  function ratioLine(label, num, den) {
    if (!num || !den) return null;
    const n = new Map(num.points.map((p) => [p[0], p[1]]));
    return {
      label: label,
      step: den.step,
      points: den.points.map(([t, d]) => [t, d > 0 && n.get(t) !== null && n.get(t) !== undefined ? (100 * n.get(t)) / d : null]),
    };
  }

  /* Sums a count series into buckets of `bucket` seconds, each stamped
   * with its end (as an RRD row): sparse events read better as rates. */
  function bucketize(s, bucket) {
    if (!s) return null;
    const m = new Map();
    for (const [t, v] of s.points) {
      if (v === null) continue;
      const k = Math.ceil(t / bucket) * bucket;
      m.set(k, (m.get(k) || 0) + v);
    }
    return { step: bucket, points: Array.from(m.entries()).sort((a, b) => a[0] - b[0]) };
  }

  function niceBucket(sec, step) {
    for (const b of [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]) if (b >= sec && b >= step) return b;
    return 86400;
  }

  function sum(s) {
    let total = 0;
    if (s) for (const p of s.points) if (p[1] !== null) total += p[1];
    return total;
  }

  function latestNames(prefix, suffix) {
    return knownMetrics()
      .filter((n) => n.startsWith(prefix) && n.endsWith(suffix) && n.length > prefix.length + suffix.length)
      .map((n) => n.slice(prefix.length, n.length - suffix.length))
      .filter((n) => !n.includes('.'))
      .sort();
  }

  function latestValue(name) {
    const latest = (state.status && state.status.latest) || {};
    const v = latest[name];
    return v ? v[1] : null;
  }

  /* ---------------------------------------------------------------- pages */

  function card(label, value, sub, cls) {
    return el('div', { class: 'card' + (cls ? ' ' + cls : '') }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value), sub ? el('div', { class: 'sub' }, sub) : null);
  }

  function rangeParams(range) {
    return { from: Math.floor(range.from), to: Math.ceil(range.to) };
  }

  async function incidentWindows(range) {
    try {
      const r = await api('api/incidents', rangeParams(range));
      return r.incidents || [];
    } catch (e) {
      return [];
    }
  }

  /* The central dashboard's sites side by side, over the range shown. */
  async function siteTable(range) {
    const r = await api('api/status', rangeParams(range));
    const pct = (v, warn, bad) => el('td', { class: 'num' + (v >= bad ? ' bad' : v >= warn ? ' warn' : '') }, v === null || v === undefined ? '\u2014' : fmtPct(v));
    return el('table', { class: 'sites' },
      el('tr', null, ['Site', 'Calls', 'Answered', 'Dropped', 'Drop rate', 'MOS (mean)', 'MOS (worst)', 'Link peak', 'CPU peak', 'Open incidents'].map((h, i) => el('th', { class: i ? 'num' : null }, h))),
      (r.sites || []).map((x) => el('tr', { class: 'site' + (x.site === state.site ? ' on' : ''), 'data-site': x.site },
        el('td', null, el('a', { href: href('overview', null, { site: x.site }) }, x.site)),
        el('td', { class: 'num' }, fmtNum(x.calls)), el('td', { class: 'num' }, fmtNum(x.answered)), el('td', { class: 'num' }, fmtNum(x.dropped)),
        pct(x.drop_rate_pct, 1, 2),
        el('td', { class: 'num' + (x.mos_avg !== null && x.mos_avg < 3.6 ? ' bad' : '') }, x.mos_avg === null ? '\u2014' : x.mos_avg.toFixed(2)),
        el('td', { class: 'num' }, x.mos_min === null ? '\u2014' : x.mos_min.toFixed(2)),
        pct(x.link_peak_pct, 70, 90), pct(x.cpu_peak_pct, 70, 90),
        el('td', { class: 'num' + (x.open_incidents ? ' bad' : '') }, String(x.open_incidents)))));
  }

  async function pageOverview(root, route) {
    const range = currentRange(route.params);
    const st = state.status || {};
    const zoom = (a, b) => go('overview', null, { from: a, to: b });
    root.append(el('h1', null, 'Overview'), rangeBar('overview', route.params, range));
    if (isCentral()) {
      root.append(el('h2', null, 'Sites'), await siteTable(range));
      if (!state.site) {
        root.append(el('p', { class: 'muted' }, 'Choose a site (above, or in the table) for its graphs.'));
        return;
      }
      root.append(el('h2', null, 'Site ' + state.site));
    }
    const rp = rangeParams(range);
    root.append(el('div', { class: 'links' },
      el('a', { href: href('calls', null, rp), class: 'to-calls' }, 'Calls in this range \u2192'),
      el('a', { href: href('incidents', null, rp) }, 'Incidents in this range \u2192')));

    const cache = new Map();
    const get = (m) => {
      if (!cache.has(m)) cache.set(m, series(m, range));
      return cache.get(m);
    };
    const [att, ans, drop, incidents] = await Promise.all([get('calls.attempts'), get('calls.answered'), get('calls.dropped'), incidentWindows(range)]);
    const minutes = (range.to - range.from) / 60;
    const links = latestNames('link.', '.util_pct');
    const cpus = latestNames('cpu.', '.pct');
    /* The peak over the range shown (not the latest sample, which for an
     * analysed capture may lie after its end). */
    const peakOf = async (names, f) => {
      const all = await Promise.all(names.map((n) => get(f(n))));
      let m = -1;
      for (const s of all) if (s) for (const p of s.points) if (p[1] !== null && p[1] > m) m = p[1];
      return m;
    };
    const linkMax = await peakOf(links, (n) => 'link.' + n + '.util_pct');
    const cpuMax = await peakOf(cpus, (n) => 'cpu.' + n + '.pct');
    const openInc = (st.open_incidents || []).length;
    const asr = sum(att) > 0 ? (100 * sum(ans)) / sum(att) : null;
    const dropRate = sum(ans) > 0 ? (100 * sum(drop)) / sum(ans) : null;
    const mos = latestValue('rtp.mos_avg');
    root.append(el('div', { class: 'cards' },
      card('Active calls', fmtNum((st.calls || {}).active || 0), ((st.calls || {}).in_progress || 0) + ' in progress'),
      card('Calls per minute', att ? fmtNum(sum(att) / minutes, 2) : '\u2014', fmtNum(sum(att)) + ' attempts in range'),
      card('Answer-seizure ratio', fmtPct(asr), fmtNum(sum(ans)) + ' answered', asr !== null && asr < 50 ? 'warn' : null),
      card('Drop rate', fmtPct(dropRate), fmtNum(sum(drop)) + ' dropped', dropRate > 2 ? 'bad' : null),
      card('MOS (latest)', mos !== null ? mos.toFixed(2) : '\u2014', 'mean of streams', mos !== null && mos < 3.6 ? 'bad' : null),
      card('Link utilisation', linkMax >= 0 ? fmtPct(linkMax) : '\u2014', links.length ? 'peak in range, busiest of ' + links.length : 'no links watched', linkMax >= 90 ? 'bad' : linkMax >= 70 ? 'warn' : null),
      card('Firewall CPU', cpuMax >= 0 ? fmtPct(cpuMax) : '\u2014', cpus.length ? 'peak in range, busiest of ' + cpus.length : 'no devices watched', cpuMax >= 90 ? 'bad' : cpuMax >= 70 ? 'warn' : null),
      card('Open incidents', String(openInc), incidents.length + ' in range', openInc ? 'bad' : null)));

    const shade = incidents.map((i) => ({ start: i.start, end: i.end || range.to }));
    const opts = (o) => Object.assign({ shade: shade, onZoom: zoom }, o);
    const step = (st.step || 10);
    const rateB = niceBucket((range.to - range.from) / 120, step);
    const ratioB = niceBucket((range.to - range.from) / 24, step);
    const perMin = (s) => 60 / (s.step || 10);
    const graphs = el('div', { class: 'graphs' });
    root.append(el('h2', null, 'Graphs'), el('p', { class: 'muted' }, 'One time axis for all; drag across a graph to zoom every graph to that window.'), graphs);
    graphs.append(
      graphPanel('Active calls', range, async () => [lineOf(await get('calls.active'), 'active')], opts({})),
      graphPanel('Calls per minute', range, async () => {
        const f = await get('calls.failed');
        return [att, ans, f, drop].map((s, i) => lineOf(bucketize(s, rateB), ['attempts', 'answered', 'failed', 'dropped'][i], perMin));
      }, opts({})),
      graphPanel('Answer-seizure ratio and drop rate', range, async () => [
        ratioLine('ASR', bucketize(ans, ratioB), bucketize(att, ratioB)),
        ratioLine('drop rate', bucketize(drop, ratioB), bucketize(ans, ratioB)),
      ], opts({ yMax: 100, unit: '%' })),
      graphPanel('MOS', range, async () => [lineOf(await get('rtp.mos_avg'), 'mean'), lineOf(await get('rtp.mos_min'), 'worst')], opts({ yMin: 1, yMax: 5 })),
      graphPanel('Traffic (bit/s)', range, async () => {
        const [all, rtp, sip] = await Promise.all([get('traffic.bps'), get('traffic.rtp.bps'), get('traffic.sip.bps')]);
        return [lineOf(all, 'all'), lineOf(rtp, 'RTP'), lineOf(sip, 'SIP')];
      }, opts({})),
      graphPanel('Link utilisation', range, async () => Promise.all(links.map(async (n) => lineOf(await get('link.' + n + '.util_pct'), n))), opts({ yMax: 100, unit: '%' })),
      graphPanel('CPU', range, async () => Promise.all(cpus.map(async (n) => lineOf(await get('cpu.' + n + '.pct'), n))), opts({ yMax: 100, unit: '%' })));

    const split = el('div', { class: 'split' });
    root.append(split);
    const mosBox = el('div', null, el('h2', null, 'MOS distribution (calls in range)'), el('p', { class: 'muted' }, 'loading\u2026'));
    split.append(mosBox);
    api('api/calls', Object.assign({ limit: 1000 }, rp))
      .then((r) => {
        clear(mosBox).append(el('h2', null, 'MOS distribution (calls in range)'));
        const buckets = [['< 2', 0, 2], ['2\u20133', 2, 3], ['3\u20133.6', 3, 3.6], ['3.6\u20134', 3.6, 4], ['4\u20134.3', 4, 4.3], ['\u2265 4.3', 4.3, 9]];
        const counts = buckets.map(() => 0);
        let n = 0;
        for (const c of r.calls) {
          const m = callMos(c);
          if (m === null) continue;
          n++;
          buckets.forEach((b, i) => {
            if (m >= b[1] && m < b[2]) counts[i]++;
          });
        }
        if (!n) {
          mosBox.append(el('p', { class: 'muted' }, 'No RTP stream was measured in the ' + r.calls.length + ' calls of this range.'));
          return;
        }
        const max = Math.max(...counts, 1);
        const bars = el('div', { class: 'bars' });
        buckets.forEach((b, i) => {
          const fill = el('div', { class: 'fill' });
          fill.style.height = (100 * counts[i]) / max + '%';
          bars.append(el('div', { class: 'bar' }, el('span', { class: 'n' }, String(counts[i])), fill, el('span', { class: 'lbl' }, b[0])));
        });
        mosBox.append(bars, el('p', { class: 'muted' }, n + ' calls with measured streams (worst stream per call).'));
      })
      .catch((e) => clear(mosBox).append(el('h2', null, 'MOS distribution'), errorBox(e)));

    const incBox = el('div', null, el('h2', null, 'Open incidents'));
    const open = st.open_incidents || [];
    if (!open.length) incBox.append(el('p', { class: 'muted' }, 'None open.'));
    else incBox.append(incidentTable(open));
    split.append(incBox);

    const tt = st.top_talkers || [];
    const talkers = el('div', null, el('h2', null, 'Top talkers (last minute)'));
    talkers.append(tt.length ? talkerTable(tt) : el('p', { class: 'muted' }, 'No traffic.'));
    split.append(talkers);
  }

  function talkerTable(list) {
    return el('table', { class: 'talkers' },
      el('tr', null, el('th', null, 'Source'), el('th', null, 'Protocol/port'), el('th', { class: 'num' }, 'Packets'), el('th', { class: 'num' }, 'Bytes'), el('th', { class: 'num' }, 'Fan-out')),
      list.map((t) => el('tr', null,
        el('td', { class: 'wire' }, t.src), el('td', null, (t.proto || '') + '/' + (t.dport !== undefined ? t.dport : '')),
        el('td', { class: 'num' }, fmtNum(t.packets)), el('td', { class: 'num' }, fmtNum(t.bytes)),
        el('td', { class: 'num' }, fmtNum(t.fanout) + (t.scanner ? ' (scan)' : '')))));
  }

  async function pageCalls(root, route) {
    const p = route.params;
    const range = currentRange(p);
    const sort = p.get('sort') || 'start';
    const order = p.get('order') || 'desc';
    const offset = Math.max(0, Number(p.get('offset')) || 0);
    root.append(el('h1', null, 'Calls'), rangeBar('calls', p, range));

    const outcomeSel = el('select', { name: 'outcome' }, el('option', { value: '' }, 'any'), OUTCOMES.map((o) => el('option', { value: o, selected: p.get('outcome') === o }, o)));
    const stateSel = el('select', { name: 'state' }, el('option', { value: '' }, 'any'), ['active', 'ended'].map((o) => el('option', { value: o, selected: p.get('state') === o }, o)));
    const party = el('input', { name: 'party', type: 'search', placeholder: 'name or URI', value: p.get('party') || '' });
    const addr = el('input', { name: 'addr', type: 'search', placeholder: 'ip or ip:port', value: p.get('addr') || '' });
    const form = el('form', { class: 'filters' },
      el('label', null, 'Outcome', outcomeSel), el('label', null, 'State', stateSel),
      el('label', null, 'Party', party), el('label', null, 'Address', addr),
      el('button', { type: 'submit' }, 'Filter'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const o = paramsObj(p);
      Object.assign(o, { outcome: outcomeSel.value, state: stateSel.value, party: party.value.trim(), addr: addr.value.trim(), offset: null });
      go('calls', null, o);
    });
    root.append(form);

    const q = Object.assign(rangeParams(range), {
      outcome: p.get('outcome'), state: p.get('state'), party: p.get('party'), addr: p.get('addr'),
      sort: sort, order: order, limit: PAGE_SIZE, offset: offset,
    });
    const r = await api('api/calls', q);
    const cols = [
      ['Start', 'start'], ['From', null], ['To', null], ['Caller', null], ['Callee', null],
      ['Outcome', 'outcome'], ['Code', null], ['Setup', 'setup_ms'], ['Duration', null], ['MOS', 'mos'],
    ];
    if (isCentral()) cols.unshift(['Site', null]);
    const head = el('tr', null, cols.map(([label, key]) => {
      if (!key) return el('th', null, label);
      const on = sort === key;
      return el('th', {
        class: 'sortable' + (on ? ' on' : '') + (on && order === 'asc' ? ' asc' : ''),
        'data-sort': key,
        title: 'sort by ' + label.toLowerCase(),
        onclick: () => go('calls', null, Object.assign(paramsObj(p), { sort: key, order: on && order === 'desc' ? 'asc' : 'desc', offset: null })),
      }, label);
    }));
    const rows = r.calls.map((c) => {
      const dur = c.end && c.answered ? c.end - c.answered : null;
      const m = callMos(c);
      return el('tr', { class: 'call' },
        isCentral() ? el('td', { class: 'site' }, c.site || '') : null,
        el('td', null, el('a', { href: href('call', c.call_id, c.site && isCentral() ? { site: c.site } : null) }, fmtTime(c.start))),
        el('td', { class: 'wire' }, c.from_display ? el('div', null, c.from_display) : null, el('div', { class: 'muted' }, c.from || '')),
        el('td', { class: 'wire' }, c.to_display ? el('div', null, c.to_display) : null, el('div', { class: 'muted' }, c.to || '')),
        el('td', { class: 'wire' }, c.caller || ''), el('td', { class: 'wire' }, c.callee || ''),
        el('td', null, outcomeTag(c.outcome), c.partial ? el('span', { class: 'muted', title: 'seen from the middle of its dialog' }, ' partial') : null), el('td', { class: 'num' }, c.sip_code === null || c.sip_code === undefined ? '' : String(c.sip_code)),
        el('td', { class: 'num' }, c.setup_ms === null || c.setup_ms === undefined ? '' : c.setup_ms + ' ms'),
        el('td', { class: 'num' }, dur === null ? '' : fmtDur(dur)),
        el('td', { class: 'num' }, m === null ? '' : m.toFixed(2)));
    });
    const table = el('table', { class: 'calls' }, head, rows);
    const pager = el('div', { class: 'pager' },
      el('span', { class: 'count' }, r.total ? offset + 1 + '\u2013' + (offset + r.calls.length) + ' of ' + r.total + ' calls' : 'No calls match.'),
      offset > 0 ? el('button', { type: 'button', onclick: () => go('calls', null, Object.assign(paramsObj(p), { offset: Math.max(0, offset - PAGE_SIZE) })) }, '\u2190 Newer') : null,
      offset + r.calls.length < r.total ? el('button', { type: 'button', onclick: () => go('calls', null, Object.assign(paramsObj(p), { offset: offset + PAGE_SIZE })) }, 'Older \u2192') : null);
    root.append(pager, table);
  }

  function kvTable(pairs) {
    return el('table', { class: 'kv' }, pairs.filter((x) => x).map(([k, v]) => el('tr', null, el('th', null, k), el('td', { class: 'wire' }, v === null || v === undefined || v === '' ? '\u2014' : v))));
  }

  /* The SIP ladder: one column per endpoint, one arrow per message. */
  function ladder(messages) {
    const hosts = [];
    for (const m of messages) for (const h of [m.src, m.dst]) if (!hosts.includes(h)) hosts.push(h);
    const colW = 220, left = 110, rowH = 30, top = 40;
    const W = left + colW * Math.max(hosts.length - 1, 1) + 120;
    const H = top + rowH * messages.length + 20;
    const xs = (h) => left + 60 + colW * hosts.indexOf(h);
    const svg = sv('svg', { class: 'ladder', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
    hosts.forEach((h) => {
      svg.append(sv('text', { class: 'host', x: xs(h), y: 18, 'text-anchor': 'middle' }, h));
      svg.append(sv('line', { class: 'life', x1: xs(h), x2: xs(h), y1: 26, y2: H - 8 }));
    });
    const t0 = messages.length ? messages[0].t : 0;
    messages.forEach((m, i) => {
      const y = top + rowH * i + 14;
      const x1 = xs(m.src), x2 = xs(m.dst);
      const code = /^(\d{3})/.exec(m.label || '');
      const kind = m.request ? '' : code && Number(code[1]) >= 300 ? ' err' : ' resp';
      const dir = x2 >= x1 ? 1 : -1;
      svg.append(sv('text', { class: 't', x: 4, y: y + 4 }, '+' + (m.t - t0).toFixed(3) + ' s'));
      svg.append(sv('line', { class: 'arrow' + kind, x1: x1, x2: x2 - dir * 8, y1: y, y2: y }));
      svg.append(sv('polygon', { class: 'head' + kind, points: x2 + ',' + y + ' ' + (x2 - dir * 9) + ',' + (y - 4) + ' ' + (x2 - dir * 9) + ',' + (y + 4) }));
      svg.append(sv('text', { class: 'msg', x: (x1 + x2) / 2, y: y - 5, 'text-anchor': 'middle' }, (m.label || '') + (m.sdp ? ' (SDP)' : '')));
    });
    return el('div', { class: 'ladder-wrap' }, svg);
  }

  async function pageCall(root, route) {
    const c = await api('api/calls/' + encodeURIComponent(route.arg || ''));
    const end = c.end || probeNow();
    const win = { from: Math.floor(c.start - 300), to: Math.ceil(Math.max(end, c.start + 60) + 300) };
    root.append(el('h1', null, 'Call ', el('span', { class: 'callid' }, c.call_id)));
    root.append(el('div', { class: 'links' },
      el('a', { href: href('overview', null, win) }, 'Graphs around this call \u2192'),
      el('a', { href: href('calls', null, win) }, 'Calls around this time \u2192')));
    const from = el('span', null, c.from_display ? el('strong', { class: 'display' }, c.from_display) : null, ' ', c.from || '');
    const to = el('span', null, c.to_display ? el('strong', null, c.to_display) : null, ' ', c.to || '');
    root.append(kvTable([
      ['From', from], ['To', to], ['Caller', c.caller], ['Callee', c.callee], ['Transport', c.transport],
      ['Outcome', outcomeTag(c.outcome)], ['SIP code', c.sip_code], ['End reason', c.end_reason],
      c.partial ? ['Partial call', 'seen from the middle of its dialog: the capture missed its INVITE'] : null,
      ['Start', fmtTime(c.start)], ['Answered', c.answered ? fmtTime(c.answered) : null], ['End', c.end ? fmtTime(c.end) : null],
      ['Setup', c.setup_ms !== null && c.setup_ms !== undefined ? c.setup_ms + ' ms' : null],
      ['Post-dial delay', c.pdd_ms !== null && c.pdd_ms !== undefined ? c.pdd_ms + ' ms' : null],
      ['Duration', c.end && c.answered ? fmtDur(c.end - c.answered) : null],
      ['Codec', c.codec], ['Hung up by', c.hangup_by], ['Reason', c.reason], ['Q.850 cause', c.q850_cause],
      ['Caller agent', c.user_agent], ['Callee agent', c.callee_agent],
      ['Retransmissions', c.retransmissions], ['Challenges', c.challenges], ['One-way audio', c.one_way_audio ? 'yes' : 'no'],
    ]));

    root.append(el('h2', null, 'SIP ladder'));
    const msgs = c.messages || [];
    root.append(msgs.length ? ladder(msgs) : el('p', { class: 'muted' }, 'No SIP messages recorded for this call (yet).'));
    if (c.messages_dropped) root.append(el('p', { class: 'muted' }, c.messages_dropped + ' more messages were not kept.'));

    root.append(el('h2', null, 'Media streams'));
    const streams = c.streams || [];
    if (!streams.length) root.append(el('p', { class: 'muted' }, 'No RTP stream was measured for this call.'));
    else
      root.append(el('table', { class: 'streams' },
        el('tr', null, ['Source', 'Destination', 'SSRC', 'Codec', 'Packets', 'Lost', 'Loss', 'Jitter mean', 'Jitter max', 'MOS', 'MOS min'].map((h, i) => el('th', { class: i >= 4 ? 'num' : null }, h))),
        streams.map((s) => el('tr', null,
          el('td', { class: 'wire' }, s.src), el('td', { class: 'wire' }, s.dst), el('td', null, s.ssrc), el('td', null, s.codec),
          el('td', { class: 'num' }, fmtNum(s.packets)), el('td', { class: 'num' }, fmtNum(s.lost)), el('td', { class: 'num' }, fmtPct(s.loss_pct)),
          el('td', { class: 'num' }, fmtNum(s.jitter_mean_ms, 1) + ' ms'), el('td', { class: 'num' }, fmtNum(s.jitter_max_ms, 1) + ' ms'),
          el('td', { class: 'num' }, typeof s.mos === 'number' ? s.mos.toFixed(2) : '\u2014'), el('td', { class: 'num' }, typeof s.mos_min === 'number' ? s.mos_min.toFixed(2) : '\u2014')))));

    const shade = [{ start: c.start, end: end }];
    const graphs = el('div', { class: 'graphs' });
    const opts = (o) => Object.assign({ shade: shade, onZoom: (a, b) => go('overview', null, { from: a, to: b }) }, o);
    root.append(el('h2', null, 'Quality around the call'), el('p', { class: 'muted' }, 'The call\u2019s time is shaded.'), graphs);
    graphs.append(
      graphPanel('Packet loss', win, async () => [lineOf(await series('rtp.loss_pct', win), 'loss')], opts({ unit: '%' })),
      graphPanel('Jitter (ms)', win, async () => [lineOf(await series('rtp.jitter_ms', win), 'jitter')], opts({})),
      graphPanel('MOS', win, async () => [lineOf(await series('rtp.mos_avg', win), 'mean'), lineOf(await series('rtp.mos_min', win), 'worst')], opts({ yMin: 1, yMax: 5 })),
      graphPanel('Traffic (bit/s)', win, async () => [lineOf(await series('traffic.bps', win), 'all')], opts({})));
  }

  function evidenceText(inc) {
    const e = inc.evidence || {};
    const parts = [];
    if (e.link && e.link.name) parts.push('link ' + e.link.name + ' ' + fmtPct(e.link.util_max_pct));
    if (e.cpu && e.cpu.name) parts.push('CPU ' + e.cpu.name + ' ' + fmtPct(e.cpu.max_pct));
    if (e.traffic_peak_bps) parts.push('traffic peak ' + fmtNum(e.traffic_peak_bps) + 'bit/s');
    const tt = (inc.top_talkers || [])[0];
    if (tt) parts.push('top talker ' + tt.src + ' ' + (tt.proto || '') + '/' + tt.dport + (tt.fanout ? ', fan-out ' + tt.fanout : ''));
    return parts.join('; ');
  }

  function incidentWindow(inc) {
    const end = inc.end || probeNow();
    return { from: Math.floor(inc.start - 600), to: Math.ceil(Math.max(end, inc.start + 60) + 600) };
  }

  function incidentTable(list) {
    return el('table', { class: 'incidents' },
      el('tr', null, ['#', 'Kind', 'Start', 'End', 'Dropped', 'Affected', 'Evidence', ''].map((h) => el('th', null, h))),
      list.map((i) => el('tr', { class: 'incident' },
        el('td', null, el('a', { href: href('incident', i.id, i.site && isCentral() ? { site: i.site } : null) }, (isCentral() && !state.site && i.site ? i.site + ' #' : '') + String(i.id))),
        el('td', null, i.kind), el('td', null, fmtTime(i.start)), el('td', null, i.open ? 'open' : fmtTime(i.end)),
        el('td', { class: 'num' }, fmtNum(i.dropped_calls)), el('td', { class: 'num' }, fmtNum(i.calls_affected)),
        el('td', { class: 'wire' }, evidenceText(i)),
        el('td', null, el('a', { href: href('overview', null, Object.assign(i.site && isCentral() ? { site: i.site } : {}, incidentWindow(i))) }, 'graphs')))));
  }

  function timeline(list, range) {
    const W = 1000, L = 10, R = 10, rowH = 16, rows = Math.min(Math.max(list.length, 1), 6), H = 30 + rows * rowH;
    const x = (t) => L + ((Math.min(Math.max(t, range.from), range.to) - range.from) / (range.to - range.from)) * (W - L - R);
    const svg = sv('svg', { class: 'chart timeline', viewBox: '0 0 ' + W + ' ' + H });
    const span = range.to - range.from;
    const step = tickStep(span);
    const off = tzOffset(range.from);
    for (let t = Math.ceil((range.from + off) / step) * step - off; t <= range.to; t += step) {
      svg.append(sv('line', { class: 'grid', x1: x(t), x2: x(t), y1: 0, y2: H - 16 }));
      svg.append(sv('text', { x: x(t), y: H - 3, 'text-anchor': 'middle' }, tickLabel(t, span)));
    }
    list.forEach((i, k) => {
      const a = x(i.start), b = x(i.end || range.to);
      const bar = sv('rect', { class: 'bar' + (i.open ? ' open' : ''), x: a, y: 4 + (k % rows) * rowH, width: Math.max(4, b - a), height: rowH - 4 },
        sv('title', null, '#' + i.id + ' ' + i.kind + ' ' + fmtTime(i.start)));
      bar.addEventListener('click', () => go('incident', i.id));
      svg.append(bar);
    });
    return svg;
  }

  async function pageIncidents(root, route) {
    const range = currentRange(route.params);
    root.append(el('h1', null, 'Incidents'), rangeBar('incidents', route.params, range));
    const r = await api('api/incidents', rangeParams(range));
    const list = r.incidents || [];
    root.append(el('figure', { class: 'graph' }, el('figcaption', null, 'Timeline'), timeline(list, range)));
    if (!list.length) root.append(el('p', { class: 'muted empty' }, 'No incidents in this range.'));
    else root.append(incidentTable(list));
  }

  function flatPairs(obj, prefix) {
    const out = [];
    for (const [k, v] of Object.entries(obj || {})) {
      const name = prefix ? prefix + ' ' + k : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...flatPairs(v, name));
      else if (!Array.isArray(v)) out.push([name.replace(/_/g, ' '), v === null ? null : String(v)]);
    }
    return out;
  }

  async function pageIncident(root, route) {
    const r = await api('api/incidents');
    const inc = (r.incidents || []).find((i) => String(i.id) === String(route.arg));
    if (!inc) {
      root.append(el('h1', null, 'Incident'), errorBox('No incident #' + route.arg + '.'));
      return;
    }
    const win = incidentWindow(inc);
    root.append(el('h1', null, 'Incident #' + inc.id + ': ' + inc.kind));
    root.append(el('div', { class: 'links' },
      el('a', { href: href('overview', null, win), class: 'to-graphs' }, 'Graphs at this window \u2192'),
      el('a', { href: href('calls', null, { from: Math.floor(inc.start), to: Math.ceil(inc.end || probeNow()) }) }, 'Calls in this window \u2192'),
      el('a', { href: href('calls', null, { from: Math.floor(inc.start), to: Math.ceil(inc.end || probeNow()), outcome: 'dropped' }) }, 'Dropped calls \u2192')));
    root.append(kvTable([
      ['Kind', inc.kind], ['Start', fmtTime(inc.start)], ['End', inc.open ? 'open' : fmtTime(inc.end)],
      ['Dropped calls', inc.dropped_calls], ['Calls affected', inc.calls_affected],
    ]));
    root.append(el('h2', null, 'Evidence'), kvTable(flatPairs(inc.evidence)));
    if ((inc.top_talkers || []).length) root.append(el('h2', null, 'Top talkers'), talkerTable(inc.top_talkers));
    const ev = inc.evidence || {};
    const shade = [{ start: inc.start, end: inc.end || win.to }];
    const opts = (o) => Object.assign({ shade: shade, onZoom: (a, b) => go('overview', null, { from: a, to: b }) }, o);
    const graphs = el('div', { class: 'graphs' });
    root.append(el('h2', null, 'Graphs at this window'), graphs);
    graphs.append(
      graphPanel('Dropped calls per step', win, async () => [lineOf(await series('calls.dropped', win), 'dropped'), lineOf(await series('calls.attempts', win), 'attempts')], opts({})),
      graphPanel('Traffic (bit/s)', win, async () => [lineOf(await series('traffic.bps', win), 'all')], opts({})));
    const linkNames = ev.link && ev.link.name ? [ev.link.name] : latestNames('link.', '.util_pct');
    const cpuNames = ev.cpu && ev.cpu.name ? [ev.cpu.name] : latestNames('cpu.', '.pct');
    graphs.append(
      graphPanel('Link utilisation', win, async () => Promise.all(linkNames.map(async (n) => lineOf(await series('link.' + n + '.util_pct', win), n))), opts({ yMax: 100, unit: '%' })),
      graphPanel('CPU', win, async () => Promise.all(cpuNames.map(async (n) => lineOf(await series('cpu.' + n + '.pct', win), n))), opts({ yMax: 100, unit: '%' })));
  }

  async function pageLinks(root, route) {
    const range = currentRange(route.params);
    const st = state.status || {};
    root.append(el('h1', null, 'Links and devices'), rangeBar('links', route.params, range));
    root.append(el('h2', null, 'SNMP targets'));
    const targets = st.targets;
    if (targets === null || targets === undefined) root.append(el('p', { class: 'muted' }, 'This callwatch has no SNMP poller wired in.'));
    else if (!targets.length) root.append(el('p', { class: 'muted' }, 'No SNMP targets configured ([link NAME] and [cpu NAME] sections).'));
    else {
      const first = ['name', 'kind', 'state'];
      const keys = first.slice();
      for (const t of targets) for (const k of Object.keys(t)) if (!keys.includes(k) && (t[k] === null || typeof t[k] !== 'object')) keys.push(k);
      root.append(el('table', { class: 'targets' },
        el('tr', null, keys.map((k) => el('th', null, k.replace(/_/g, ' ')))),
        targets.map((t) => el('tr', null, keys.map((k) => {
          const v = t[k];
          const cls = k === 'state' && typeof v === 'string' ? 'state-' + v.toLowerCase().replace(/[^a-z]/g, '') : null;
          return el('td', { class: cls }, v === null || v === undefined ? '\u2014' : typeof v === 'number' ? fmtNum(v) : String(v));
        })))));
    }
    const links = latestNames('link.', '.util_pct');
    const cpus = latestNames('cpu.', '.pct');
    root.append(el('h2', null, 'Latest values'));
    if (!links.length && !cpus.length) root.append(el('p', { class: 'muted' }, 'No link or CPU series yet.'));
    else
      root.append(el('table', { class: 'latest' },
        el('tr', null, el('th', null, 'Name'), el('th', { class: 'num' }, 'In'), el('th', { class: 'num' }, 'Out'), el('th', { class: 'num' }, 'Utilisation / CPU')),
        links.map((n) => el('tr', null, el('td', null, 'link ' + n), el('td', { class: 'num' }, fmtNum(latestValue('link.' + n + '.in_bps')) + 'bit/s'),
          el('td', { class: 'num' }, fmtNum(latestValue('link.' + n + '.out_bps')) + 'bit/s'), el('td', { class: 'num' }, fmtPct(latestValue('link.' + n + '.util_pct'))))),
        cpus.map((n) => el('tr', null, el('td', null, 'cpu ' + n), el('td'), el('td'), el('td', { class: 'num' }, fmtPct(latestValue('cpu.' + n + '.pct')))))));
    const zoom = (a, b) => go('links', null, { from: a, to: b });
    const graphs = el('div', { class: 'graphs' });
    root.append(el('h2', null, 'Graphs'), graphs);
    for (const n of links)
      graphs.append(graphPanel('Link ' + n, range, async () => [lineOf(await series('link.' + n + '.util_pct', range), 'utilisation')], { yMax: 100, unit: '%', onZoom: zoom }));
    for (const n of cpus)
      graphs.append(graphPanel('CPU ' + n, range, async () => [lineOf(await series('cpu.' + n + '.pct', range), 'CPU')], { yMax: 100, unit: '%', onZoom: zoom }));
  }

  const pages = { overview: pageOverview, calls: pageCalls, call: pageCall, incidents: pageIncidents, incident: pageIncident, links: pageLinks };

  /* ---------------------------------------------------------------- frame */

  function header() {
    const st = state.status;
    const route = parseHash();
    for (const a of document.querySelectorAll('#nav a')) {
      const pg = a.getAttribute('data-page');
      a.setAttribute('href', href(pg)); /* with the site chosen */
      a.classList.toggle('on', pg === route.page || (pg === 'calls' && route.page === 'call') || (pg === 'incidents' && route.page === 'incident'));
    }
    const mode = document.getElementById('mode');
    const foot = document.getElementById('footer');
    clear(mode);
    clear(foot);
    if (!st) return;
    siteSelector(st, route);
    if (st.mode === 'central') {
      const n = (st.sites || []).length;
      mode.append('central: ' + n + ' site' + (n === 1 ? '' : 's'));
      const db = st.database || {};
      foot.append('callwatch ' + (st.version || '') + ' \u00b7 central dashboard ' + (st.site || ''),
        ' \u00b7 call database ' + (db.backend || '?') + (db.connected === false ? ' (not answering: ' + (db.last_error || '') + ')' : ''),
        ' \u00b7 times ' + (state.utc ? 'UTC' : 'local (UTC' + fmtOffset() + ')'));
      return;
    }
    const cap = st.capture || {};
    const src = (cap.sources || []).map((s) => s.split('/').pop()).join(', ');
    mode.append(cap.mode === 'live' ? el('span', { class: 'live' }, 'live on ' + src) : 'offline: ' + src + (cap.finished ? '' : ' (reading\u2026)'));
    foot.append(
      'callwatch ' + (st.version || '') + ' \u00b7 ' + fmtNum(cap.packets || 0) + ' packets, ' + fmtNum(cap.bytes || 0) + 'B captured',
      cap.start ? ' \u00b7 ' + fmtTime(cap.start) + ' \u2013 ' + fmtTime(cap.end) : '',
      ' \u00b7 kernel drops ' + fmtNum((cap.kernel_dropped || 0) + (cap.kernel_ifdropped || 0)),
      ' \u00b7 malformed ' + fmtNum(Object.values(cap.malformed || {}).reduce((a, b) => a + b, 0)),
      ' \u00b7 SIP messages ' + fmtNum(cap.sip_messages || 0),
      st.database ? ' \u00b7 ' + fmtNum(st.database.calls) + ' calls stored' : '',
      ' \u00b7 times ' + (state.utc ? 'UTC' : 'local (UTC' + fmtOffset() + ')'));
  }

  /* The site selector: every site on the central dashboard ("all sites"
   * first); a probe's own site alone, fixed. */
  function siteSelector(st, route) {
    const sel = document.getElementById('site');
    if (!sel) return;
    clear(sel);
    if (st.mode === 'central') {
      sel.disabled = false;
      sel.append(el('option', { value: '' }, 'all sites'));
      for (const x of st.sites || []) sel.append(el('option', { value: x.site, selected: x.site === state.site }, x.site));
      if (state.site && !(st.sites || []).some((x) => x.site === state.site)) sel.append(el('option', { value: state.site, selected: true }, state.site));
    } else {
      sel.disabled = true;
      sel.append(el('option', { value: st.site || '' }, st.site || '\u2014'));
    }
    sel.onchange = () => {
      const o = paramsObj(route.params);
      o.site = sel.value || null;
      delete o.offset;
      state.site = o.site;
      const page = route.page === 'call' || route.page === 'incident' ? route.page + 's' : route.page;
      location.hash = href(page, null, o);
    };
  }

  function fmtOffset() {
    const m = -new Date().getTimezoneOffset();
    return (m >= 0 ? '+' : '\u2212') + pad(Math.floor(Math.abs(m) / 60)) + ':' + pad(Math.abs(m) % 60);
  }

  async function render() {
    const seq = ++state.seq;
    const route = parseHash();
    let statusErr = null;
    state.site = route.params.get('site') || null;
    try {
      state.status = await api('api/status');
    } catch (e) {
      statusErr = e;
    }
    if (seq !== state.seq) return;
    header();
    const fresh = el('div', { class: 'page page-' + route.page });
    if (statusErr) fresh.append(errorBox('Status unavailable: ' + statusErr.message));
    const fn = pages[route.page];
    try {
      if (!fn) throw new Error('No such page: ' + route.page);
      await fn(fresh, route);
    } catch (e) {
      fresh.append(errorBox(e));
    }
    if (seq !== state.seq) return;
    const main = document.getElementById('main');
    clear(main).append(fresh);
    document.title = 'callwatch \u2013 ' + route.page;
    document.body.setAttribute('data-rendered', String(seq));
    schedule(route);
  }

  /* Live data refreshes by itself, unless someone is typing. */
  function schedule(route) {
    clearTimeout(state.timer);
    const range = route.page === 'call' || route.page === 'incident' ? { live: isLive() } : currentRange(route.params);
    if (!range.live) return;
    state.timer = setTimeout(() => {
      const a = document.activeElement;
      if (a && (a.tagName === 'INPUT' || a.tagName === 'SELECT')) schedule(route);
      else render();
    }, REFRESH_MS);
  }

  function start() {
    const utc = document.getElementById('utc');
    try {
      state.utc = localStorage.getItem('callwatch.utc') === '1';
    } catch (e) {
      state.utc = false;
    }
    utc.checked = state.utc;
    utc.addEventListener('change', () => {
      state.utc = utc.checked;
      try {
        localStorage.setItem('callwatch.utc', state.utc ? '1' : '0');
      } catch (e) {
        /* private mode */
      }
      render();
    });
    window.addEventListener('hashchange', render);
    render();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
