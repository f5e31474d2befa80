#!/usr/bin/env node
/* Drives headless Chromium through the dashboard with the Chrome DevTools
 * Protocol, spoken over --remote-debugging-pipe (file descriptors 3 and 4,
 * messages ended by NUL), so nothing but Node's own modules is needed.
 *
 *   node dashboard.js CHROMIUM BASE_URL PROFILE_DIR SHOTS_DIR
 *
 * Environment: CW_EVIL_ID (the Call-ID whose display name carries HTML and
 * script), CW_INCIDENT_ID, CW_CAPTURE_START/END (Unix seconds), CW_SITE
 * (the probe's site), CW_CENTRAL_URL (a central dashboard over sites A and
 * B, each with the probe's capture).
 * Prints "ok - ..." or "FAIL: ..." per check, then "N passed, M failed";
 * exits non-zero on any failure. */
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const [chromium, base, profile, shots] = process.argv.slice(2);
const EVIL_ID = process.env.CW_EVIL_ID;
const INCIDENT_ID = process.env.CW_INCIDENT_ID;
const CAP_START = Number(process.env.CW_CAPTURE_START);
const CAP_END = Number(process.env.CW_CAPTURE_END);
const SITE = process.env.CW_SITE;
const CENTRAL = process.env.CW_CENTRAL_URL;
const PAYLOAD = '<img src=x onerror=alert(1)><script>alert(2)</script>';

let passed = 0;
let failed = 0;
function ok(cond, what, detail) {
  if (cond) {
    passed++;
    console.log('ok - ' + what);
  } else {
    failed++;
    console.log('FAIL: ' + what + (detail !== undefined ? ': ' + JSON.stringify(detail) : ''));
  }
}

/* ---- the protocol */

class Cdp {
  constructor(proc) {
    this.w = proc.stdio[3];
    this.id = 0;
    this.pending = new Map();
    this.listeners = [];
    let buf = Buffer.alloc(0);
    proc.stdio[4].on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let i;
      while ((i = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, i).toString('utf8'));
        buf = buf.subarray(i + 1);
        this.dispatch(msg);
      }
    });
  }

  send(method, params, sessionId) {
    const id = ++this.id;
    const msg = { id: id, method: method, params: params || {} };
    if (sessionId) msg.sessionId = sessionId;
    this.w.write(JSON.stringify(msg) + '\0');
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
  }

  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(p.method + ': ' + msg.error.message));
      else p.resolve(msg.result);
      return;
    }
    for (const fn of this.listeners) fn(msg);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Watches the page: dialogs, exceptions, console errors, CSP violations,
 * and (from inside, before any page script) alert() calls and every IMG or
 * SCRIPT element that appears. */
const GUARD = `
  window.__xss = [];
  for (const f of ['alert', 'confirm', 'prompt'])
    window[f] = function (...a) { window.__xss.push(f + ':' + a.join(',')); };
  new MutationObserver((muts) => {
    for (const m of muts) for (const n of m.addedNodes) {
      if (n.nodeType !== 1) continue;
      const found = [n, ...n.querySelectorAll('img, script, iframe, object, embed, svg[onload], [onerror], [onload]')];
      for (const e of found) {
        const t = e.tagName.toLowerCase();
        if (t === 'img' || t === 'iframe' || t === 'object' || t === 'embed' || (t === 'script' && !/static\\/app\\.js$/.test(e.src || '')) ||
            e.hasAttribute('onerror') || e.hasAttribute('onload'))
          window.__xss.push('element:' + t);
      }
    }
  }).observe(document, { childList: true, subtree: true });
`;

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const proc = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-extensions', '--disable-dev-shm-usage',
    '--user-data-dir=' + profile, '--remote-debugging-pipe', '--window-size=1400,1000', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d.toString()));
  const exited = new Promise((r) => proc.on('exit', r));
  const cdp = new Cdp(proc);
  const events = { dialogs: [], exceptions: [], errors: [] };
  let sid = null;

  try {
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    ({ sessionId: sid } = await cdp.send('Target.attachToTarget', { targetId: targetId, flatten: true }));
    cdp.listeners.push((m) => {
      if (m.sessionId !== sid) return;
      if (m.method === 'Page.javascriptDialogOpening') {
        events.dialogs.push(m.params.message);
        cdp.send('Page.handleJavaScriptDialog', { accept: false }, sid).catch(() => {});
      } else if (m.method === 'Runtime.exceptionThrown') {
        events.exceptions.push(m.params.exceptionDetails.text + ' ' + JSON.stringify(m.params.exceptionDetails.exception && m.params.exceptionDetails.exception.description));
      } else if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'warning')) {
        events.errors.push(m.params.args.map((a) => a.value || a.description).join(' '));
      } else if (m.method === 'Log.entryAdded' && (m.params.entry.level === 'error' || /Content Security Policy/.test(m.params.entry.text))) {
        /* The favicon and similar are fine; anything else is not. */
        if (!/favicon\.ico/.test(m.params.entry.url || '')) events.errors.push(m.params.entry.source + ': ' + m.params.entry.text);
      }
    });
    const send = (method, params) => cdp.send(method, params, sid);
    await send('Page.enable');
    await send('Runtime.enable');
    await send('Log.enable');
    await send('Page.addScriptToEvaluateOnNewDocument', { source: GUARD });
    await send('Emulation.setDeviceMetricsOverride', { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });

    const evaluate = async (expr) => {
      const r = await send('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error('evaluate: ' + (r.exceptionDetails.exception ? r.exceptionDetails.exception.description : r.exceptionDetails.text));
      return r.result.value;
    };
    const waitFor = async (expr, what, ms) => {
      const until = Date.now() + (ms || 15000);
      let last;
      while (Date.now() < until) {
        try {
          last = await evaluate(expr);
          if (last) return last;
        } catch (e) {
          last = e.message;
        }
        await sleep(100);
      }
      ok(false, 'waiting for ' + what, last);
      return null;
    };
    const go = async (hash) => {
      await evaluate('location.hash = ' + JSON.stringify(hash) + '; true');
      await sleep(50);
    };
    const settled = () => "document.body.getAttribute('data-rendered') && !document.querySelector('.plot .muted:not(.nodata)')";
    const shot = async (name) => {
      const r = await send('Page.captureScreenshot', { format: 'png' });
      fs.writeFileSync(path.join(shots, name + '.png'), Buffer.from(r.data, 'base64'));
    };
    const api = (p) => evaluate('fetch(' + JSON.stringify(p) + ').then((r) => r.json())');
    const clickAt = async (x, y) => {
      for (const type of ['mousePressed', 'mouseReleased'])
        await send('Input.dispatchMouseEvent', { type: type, x: x, y: y, button: 'left', clickCount: 1 });
    };
    const clickSel = async (sel) => {
      const r = await evaluate(`(() => { const e = document.querySelector(${JSON.stringify(sel)}); if (!e) return null; e.scrollIntoView({block: 'center'}); const b = e.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()`);
      if (!r) throw new Error('nothing matches ' + sel);
      await clickAt(r[0], r[1]);
    };

    /* ---- overview */
    await send('Page.navigate', { url: base });
    await waitFor("document.body.getAttribute('data-rendered')", 'the dashboard to render');
    await waitFor(settled() + " && document.querySelectorAll('svg.chart path.series').length >= 3", 'graphs on the overview');
    ok(await evaluate("document.querySelector('h1').textContent") === 'Overview', 'the overview page opens by default');
    const cards = await evaluate("[...document.querySelectorAll('.card .label')].map((e) => e.textContent)");
    for (const c of ['Active calls', 'Calls per minute', 'Answer-seizure ratio', 'Drop rate', 'Link utilisation', 'Firewall CPU', 'Open incidents'])
      ok(cards.includes(c), 'overview card: ' + c, cards);
    const ranges = await evaluate("[...document.querySelectorAll('svg.chart')].map((s) => s.getAttribute('data-from') + '-' + s.getAttribute('data-to'))");
    ok(ranges.length >= 4 && ranges.every((r) => r === ranges[0]), 'every graph shares one time axis', ranges);
    const [from0, to0] = ranges[0].split('-').map(Number);
    ok(from0 <= CAP_START && to0 >= CAP_END && to0 - from0 < CAP_END - CAP_START + 120,
      "offline: the default range is the capture's own period", [from0, to0, CAP_START, CAP_END]);
    const buttons = await evaluate("[...document.querySelectorAll('.rangebar button')].map((b) => b.textContent)");
    for (const b of ['1 h', '6 h', '24 h', '7 d', '30 d', 'Capture', 'Apply'])
      ok(buttons.includes(b), 'range button ' + b, buttons);
    ok(await evaluate("document.querySelectorAll('.rangebar input[type=datetime-local]').length") === 2, 'a from-to picker');
    const attempts = await evaluate("(() => { const f = [...document.querySelectorAll('figure.graph')].find((x) => x.getAttribute('data-title') === 'Calls per minute'); return f ? f.querySelectorAll('path.series').length : 0; })()");
    ok(attempts >= 2, 'calls-per-minute graph has lines', attempts);
    await shot('overview');

    /* A range button redraws every graph over the new span. */
    await clickSel('.rangebar button:nth-child(1)');
    await waitFor("location.hash.includes('span=3600')", 'the 1 h button');
    await waitFor(settled() + " && [...document.querySelectorAll('svg.chart')].every((s) => s.getAttribute('data-to') - s.getAttribute('data-from') === 3600) && document.querySelectorAll('svg.chart').length >= 4", 'graphs over one hour');
    ok(true, '1 h button: every graph spans one hour');

    /* "What happened between 14:00 and 14:30?": drag across a graph (one
     * gesture), then one click on "Calls in this range". */
    await go('#/overview');
    await waitFor(settled() + ` && document.querySelectorAll('svg.chart rect.overlay').length >= 3 && [...document.querySelectorAll('svg.chart')].every((s) => +s.getAttribute('data-from') === ${from0})`, 'the overview again');
    const box = await evaluate("(() => { const r = document.querySelector('svg.chart rect.overlay'); r.scrollIntoView({block: 'center'}); const b = r.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; })()");
    const y = box[1] + box[3] / 2;
    const x1 = box[0] + box[2] * 0.25;
    const x2 = box[0] + box[2] * 0.5;
    await send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: x1, y: y });
    await send('Input.dispatchMouseEvent', { type: 'mousePressed', x: x1, y: y, button: 'left', clickCount: 1 });
    for (let i = 1; i <= 5; i++) await send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: x1 + ((x2 - x1) * i) / 5, y: y, button: 'left' });
    await send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: x2, y: y, button: 'left', clickCount: 1 });
    const zoomed = await waitFor("/from=\\d+&to=\\d+/.test(location.hash) && location.hash", 'drag to zoom');
    const zf = Number((/from=(\d+)/.exec(zoomed || '') || [0, 0])[1]);
    const zt = Number((/to=(\d+)/.exec(zoomed || '') || [0, 0])[1]);
    ok(Math.abs(zf - (from0 + (to0 - from0) * 0.25)) < (to0 - from0) / 50 && Math.abs(zt - (from0 + (to0 - from0) * 0.5)) < (to0 - from0) / 50,
      'drag selects the window under the mouse', [zf, zt]);
    await waitFor(settled() + ` && [...document.querySelectorAll('svg.chart')].every((s) => +s.getAttribute('data-from') === ${zf})`, 'graphs redrawn at the window');
    await clickSel('a.to-calls');
    await waitFor("location.hash.startsWith('#/calls') && document.querySelector('table.calls')", 'calls in the window');
    const inWindow = await api(`api/calls?from=${zf}&to=${zt}&limit=1000`);
    const shown = await evaluate("document.querySelectorAll('table.calls tr.call').length");
    ok(inWindow.total > 0 && shown === inWindow.total, 'two gestures: the calls of the chosen window', [shown, inWindow.total]);

    /* ---- calls */
    await go('#/calls');
    await waitFor("document.querySelector('table.calls') && document.querySelector('.page-calls')", 'the calls table');
    const all = await api(`api/calls?from=${from0}&to=${to0}&limit=1000`);
    /* The table may fill in more than one pass: wait for the full page. */
    await waitFor(`document.querySelectorAll('table.calls tr.call').length === ${Math.min(all.total, 100)}`, 'the calls of the range', 30000);
    const rows = await evaluate("document.querySelectorAll('table.calls tr.call').length");
    ok(rows === Math.min(all.total, 100) && rows > 20, 'calls table lists the calls of the range', [rows, all.total]);
    const text = await evaluate('document.body.textContent');
    ok(text.includes(PAYLOAD), 'the hostile display name shows as text in the table');
    const firstStart = await evaluate("document.querySelector('table.calls tr.call td').textContent");
    await clickSel("th[data-sort='start']");
    await waitFor("location.hash.includes('order=asc') && document.querySelector('table.calls tr.call')", 'sorting by start');
    await waitFor(`document.querySelector('table.calls tr.call td').textContent !== ${JSON.stringify(firstStart)}`, 'the order to change');
    const starts = await evaluate("[...document.querySelectorAll('table.calls tr.call td:first-child')].map((t) => t.textContent)");
    ok(starts.length > 1 && starts.every((s, i) => i === 0 || starts[i - 1] <= s), 'sorted by start, ascending', starts.slice(0, 3));
    await evaluate("document.querySelector('select[name=outcome]').value = 'failed'; document.querySelector('form.filters button').click(); true");
    await waitFor("location.hash.includes('outcome=failed') && document.querySelector('.page-calls')", 'the outcome filter');
    await waitFor("document.querySelectorAll('table.calls tr.call').length > 0 && [...document.querySelectorAll('table.calls .outcome')].every((e) => e.textContent === 'failed')", 'only failed calls');
    const failedApi = await api(`api/calls?from=${from0}&to=${to0}&outcome=failed`);
    await waitFor(`document.querySelectorAll('table.calls tr.call').length === ${failedApi.total}`, 'the failed calls', 30000);
    ok(await evaluate("document.querySelectorAll('table.calls tr.call').length") === failedApi.total, 'outcome filter: the failed calls', failedApi.total);
    await evaluate("document.querySelector('input[name=addr]').value = '10.66.0.66'; document.querySelector('select[name=outcome]').value = ''; document.querySelector('form.filters button').click(); true");
    await waitFor("location.hash.includes('addr=10.66.0.66') && document.querySelectorAll('table.calls tr.call').length === 1", 'the address filter');
    ok(true, 'address filter: the one call from 10.66.0.66');
    await shot('calls');

    /* ---- the hostile call */
    await clickSel('table.calls tr.call td a');
    await waitFor("location.hash.startsWith('#/call/') && document.querySelector('svg.ladder')", 'the call page');
    const callId = await evaluate("document.querySelector('.callid').textContent");
    ok(callId === EVIL_ID, 'the call page shows the hostile Call-ID as text', callId);
    const arrows = await evaluate("document.querySelectorAll('svg.ladder line.arrow').length");
    const msgs = (await api('api/calls/' + encodeURIComponent(EVIL_ID))).messages;
    ok(arrows === msgs.length && arrows === 6, 'the ladder has one arrow per SIP message', [arrows, msgs.length]);
    const labels = await evaluate("[...document.querySelectorAll('svg.ladder text.msg')].map((t) => t.textContent)");
    ok(labels.includes('180 <script>alert(4)</script>'), 'a hostile reason phrase shows as text in the ladder', labels);
    ok(await evaluate("document.querySelector('strong.display').textContent") === PAYLOAD, 'the display name shows as text on the call page');
    ok((await evaluate('document.body.textContent')).includes('<svg onload=alert(3)>UA</svg>'), 'the hostile user agent shows as text');
    ok(await evaluate("document.querySelectorAll('img').length") === 0, 'no img element in the page');
    ok(await evaluate("[...document.scripts].every((s) => s.src.endsWith('/static/app.js'))"), 'no script but app.js');
    ok(await evaluate("document.querySelectorAll('[onerror], [onload]').length") === 0, 'no event-handler attributes');
    ok(await evaluate("document.querySelector('table.kv') && document.body.textContent.includes('Media streams')"), 'the call page has its details and streams section');
    await waitFor(settled(), 'the call graphs');
    ok(await evaluate("document.querySelectorAll('figure.graph').length") >= 3, 'the call page has its graphs');
    await shot('call');

    /* ---- incidents */
    await go('#/incidents?from=' + from0 + '&to=' + to0);
    await waitFor("document.querySelector('.page-incidents') && document.querySelector('svg.timeline')", 'the incidents page');
    ok(await evaluate("document.querySelectorAll('svg.timeline rect.bar').length") === 1, 'the incident on the timeline');
    ok(await evaluate("document.querySelectorAll('table.incidents tr.incident').length") === 1, 'the incident in the table');
    ok((await evaluate("document.querySelector('table.incidents').textContent")).includes('link wan0 97 %'), 'evidence summarised in the list');
    await clickSel('svg.timeline rect.bar');
    await waitFor("location.hash === '#/incident/" + INCIDENT_ID + "' && document.querySelector('.page-incident h1')", 'the incident page');
    const h1 = await evaluate("document.querySelector('h1').textContent");
    ok(h1.startsWith('Incident #' + INCIDENT_ID + ': drops_with_congestion'), 'the incident page', h1);
    const evidence = await evaluate("[...document.querySelectorAll('table.kv')][1].textContent");
    ok(evidence.includes('wan0') && evidence.includes('fw1') && evidence.includes('99'), 'the evidence is shown', evidence);
    ok((await evaluate("document.querySelector('table.talkers').textContent")).includes('10.20.0.17'), 'the top talkers are shown');
    await waitFor(settled(), 'the incident graphs');
    ok(await evaluate("document.querySelectorAll('svg.chart rect.shade').length") >= 1, 'the incident window is shaded on its graphs');
    await shot('incident');
    await clickSel('a.to-graphs');
    await waitFor("location.hash.startsWith('#/overview?from=') && document.querySelector('.page-overview')", 'graphs at the incident window');
    await waitFor(settled() + " && document.querySelector('svg.chart')", 'graphs at the window');
    const win = await evaluate("[document.querySelector('svg.chart').getAttribute('data-from'), document.querySelector('svg.chart').getAttribute('data-to')].map(Number)");
    const inc = (await api('api/incidents')).incidents.find((i) => String(i.id) === INCIDENT_ID);
    ok(win[0] <= inc.start && win[1] >= inc.end && win[1] - win[0] < 3600, 'the link leads to graphs at that window', [win, inc.start, inc.end]);

    /* ---- links and devices */
    await go('#/links');
    await waitFor("document.querySelector('.page-links h1')", 'the links page');
    ok((await evaluate('document.body.textContent')).includes('SNMP targets'), 'the links and devices page');

    /* ---- the site selector: the probe's own site, fixed */
    const own = await evaluate("(() => { const s = document.getElementById('site'); return s ? [s.disabled, [...s.options].map((o) => o.value)] : null; })()");
    ok(own && own[0] === true && own[1].length === 1 && own[1][0] === SITE, "a probe's selector shows its own site, fixed", own);

    /* ---- the central dashboard: sites side by side, a selector */
    if (CENTRAL) {
      await send('Page.navigate', { url: CENTRAL });
      await waitFor("document.body.getAttribute('data-rendered') && document.querySelector('table.sites')", 'the central overview');
      const rows = await evaluate("[...document.querySelectorAll('table.sites tr.site')].map((r) => [r.getAttribute('data-site'), r.children[1].textContent])");
      ok(rows.length === 2 && rows[0][0] === 'A' && rows[1][0] === 'B' && rows[0][1] === rows[1][1] && Number(rows[0][1]) > 0,
        'the central overview compares sites A and B', rows);
      const heads = await evaluate("[...document.querySelectorAll('table.sites th')].map((e) => e.textContent)");
      for (const h of ['Calls', 'Drop rate', 'MOS (mean)', 'Link peak', 'CPU peak', 'Open incidents'])
        ok(heads.includes(h), 'site comparison column: ' + h, heads);
      const opts = await evaluate("[...document.getElementById('site').options].map((o) => o.value)");
      ok(JSON.stringify(opts) === JSON.stringify(['', 'A', 'B']), 'the selector lists every site', opts);
      await shot('central');
      /* Choosing B: every page follows it. */
      await evaluate("(() => { const s = document.getElementById('site'); s.value = 'B'; s.dispatchEvent(new Event('change')); return true; })()");
      await waitFor("location.hash.includes('site=B') && document.querySelector('table.sites tr.on')", 'site B chosen');
      await waitFor(settled() + " && document.querySelectorAll('svg.chart path.series').length >= 3", "site B's graphs");
      ok((await evaluate("document.querySelector('table.sites tr.on').getAttribute('data-site')")) === 'B', 'the chosen site is marked');
      await shot('central-site');
      await clickSel('#nav a[data-page=calls]');
      await waitFor("location.hash.startsWith('#/calls') && document.querySelector('table.calls')", "B's calls");
      ok((await evaluate('location.hash')).includes('site=B'), 'the calls page keeps the site', await evaluate('location.hash'));
      const sites = await evaluate("[...new Set([...document.querySelectorAll('table.calls td.site')].map((e) => e.textContent))]");
      ok(JSON.stringify(sites) === '["B"]', "the calls page lists B's calls only", sites);
      await evaluate("(() => { const s = document.getElementById('site'); s.value = ''; s.dispatchEvent(new Event('change')); return true; })()");
      await waitFor("!location.hash.includes('site=') && new Set([...document.querySelectorAll('table.calls td.site')].map((e) => e.textContent)).size > 1", 'all sites');
      const all = await evaluate("[...new Set([...document.querySelectorAll('table.calls td.site')].map((e) => e.textContent))].sort()");
      ok(JSON.stringify(all) === '["A","B"]', 'all sites: both sites\' calls', all);
    }

    /* ---- nothing ran that should not have */
    const xss = await evaluate('window.__xss');
    ok(xss.length === 0, 'no alert() and no injected element (page guard)', xss);
    ok(events.dialogs.length === 0, 'no JavaScript dialog opened', events.dialogs);
    ok(events.exceptions.length === 0, 'no uncaught exception', events.exceptions);
    ok(events.errors.length === 0, 'no console error or CSP violation', events.errors);
  } catch (e) {
    ok(false, 'browser session', e.stack || String(e));
  } finally {
    cdp.send('Browser.close').catch(() => {});
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  if (failed && stderr) console.log('# chromium stderr (tail):\n# ' + stderr.split('\n').slice(-15).join('\n# '));
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed || !passed ? 1 : 0);
}

main();
