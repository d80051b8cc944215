// Opens the recovery-matrix page in headless Chromium and reports what a reader sees, as
// one JSON object on stdout (harness/tests/html_page.rs asserts on it):
//   cells      every strategy block: its cell id, outcome, text, and timeline link
//   filter     which rows / blocks are visible after unchecking, then rechecking, a box
//   timeline   where clicking a block's link (a real mouse click) leads, and the lanes there
//   meta       the run date, seed and SDK-version texts
// Usage: node probe.mjs PAGE.html [--sdk NAME] [--fault NAME] [--strategy NAME]
//                                 [--click CELL-ID] [--screenshot FILE.png]
//
// Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON
// messages ending in NUL on fds 3 and 4), so no WebSocket library or port is needed. It
// is kept off every network: no proxy reachable, every host name unresolvable, background
// services off; the page is a file:// URL and its Content-Security-Policy allows nothing
// remote.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : undefined;
};
const page = args[0];
if (!page) {
  console.error('usage: node probe.mjs PAGE.html [--sdk NAME] [--fault NAME] [--strategy NAME] [--click CELL-ID] [--screenshot FILE]');
  process.exit(2);
}
const chromium = process.env.CHROMIUM || 'chromium';
const profile = mkdtempSync(join(tmpdir(), 'probe-chromium-'));
const browser = spawn(chromium, [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe',
  '--user-data-dir=' + profile, '--no-first-run', '--no-default-browser-check',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-extensions', '--disable-default-apps', '--no-pings', '--metrics-recording-only',
  '--proxy-server=127.0.0.1:9', '--host-resolver-rules=MAP * ~NOTFOUND',
  '--hide-scrollbars', '--allow-file-access-from-files', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
browser.stdio[2].on('data', (d) => { stderr += d; });

let nextId = 1;
const pending = new Map();
const listeners = [];
let buffer = Buffer.alloc(0);
browser.stdio[4].on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  let end;
  while ((end = buffer.indexOf(0)) >= 0) {
    const message = JSON.parse(buffer.subarray(0, end).toString('utf8'));
    buffer = buffer.subarray(end + 1);
    if (message.id && pending.has(message.id)) {
      const { ok, fail } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) fail(new Error(JSON.stringify(message.error)));
      else ok(message.result);
    } else if (message.method) {
      for (const l of listeners.slice()) l(message);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const message = { id, method, params };
  if (sessionId) message.sessionId = sessionId;
  browser.stdio[3].write(JSON.stringify(message) + '\0');
  return new Promise((ok, fail) => pending.set(id, { ok, fail }));
}
function event(method, sessionId, timeoutMs = 15000) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('timed out waiting for ' + method)), timeoutMs);
    const l = (m) => {
      if (m.method === method && (!sessionId || m.sessionId === sessionId)) {
        clearTimeout(timer);
        listeners.splice(listeners.indexOf(l), 1);
        ok(m.params);
      }
    };
    listeners.push(l);
  });
}

// What the page shows: every strategy block and row, visible or not.
const COLLECT = `(() => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  return {
    url: location.href,
    cells: Array.from(document.querySelectorAll('#matrix .cell'), (el) => ({
      id: el.dataset.cell, outcome: el.dataset.outcome, strategy: el.dataset.strategy,
      row: el.closest('tr').dataset.sdk, fault: el.closest('td').dataset.fault,
      text: el.innerText, timeline: el.querySelector('a.timeline').href,
      explain: el.querySelector('a.explain').href, visible: visible(el),
    })),
    rows: Array.from(document.querySelectorAll('#matrix tbody tr'), (tr) => ({ sdk: tr.dataset.sdk, visible: visible(tr) })),
    shown: document.getElementById('shown').textContent,
  };
})()`;
const clickBox = (name, value) => `(() => {
  const box = Array.from(document.querySelectorAll('#filters input[name="${name}"]')).find((i) => i.value === ${JSON.stringify(value)});
  if (!box) return false;
  box.click();
  return box.checked;
})()`;

async function main() {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const s = (method, params) => send(method, params, sessionId);
  const evaluate = async (expression) => {
    const r = await s('Runtime.evaluate', { expression, returnByValue: true });
    if (r.exceptionDetails) throw new Error('page script failed: ' + JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  await s('Page.enable');
  await s('Runtime.enable');
  const errors = [];
  listeners.push((m) => {
    if (m.method === 'Runtime.exceptionThrown') errors.push(m.params.exceptionDetails.text);
  });
  await s('Emulation.setDeviceMetricsOverride', { width: 1500, height: 900, deviceScaleFactor: 1, mobile: false });
  const loaded = event('Page.loadEventFired', sessionId);
  await s('Page.navigate', { url: pathToFileURL(resolve(page)).href });
  await loaded;
  const out = { initial: await evaluate(COLLECT), filter: {}, errors };
  out.meta = await evaluate(`({
    runDate: document.getElementById('run-date')?.textContent,
    meta: document.querySelector('.meta').innerText,
    sdkVersions: document.getElementById('sdk-versions').innerText,
  })`);
  for (const name of ['sdk', 'fault', 'strategy']) {
    const value = option(name);
    if (!value) continue;
    const off = await evaluate(clickBox(name, value));
    const hidden = await evaluate(COLLECT);
    const on = await evaluate(clickBox(name, value));
    const shown = await evaluate(COLLECT);
    out.filter[name] = { value, checkedAfterFirstClick: off, checkedAfterSecondClick: on, hidden, shown };
  }
  const shot = option('screenshot');
  if (shot) {
    // The page down to the matrix's last row (the lists below it are text).
    const { cssContentSize } = await s('Page.getLayoutMetrics');
    const bottom = await evaluate(`document.getElementById('matrix').getBoundingClientRect().bottom + window.scrollY + 12`);
    const width = Math.ceil(Math.max(cssContentSize.width, 1500));
    const height = Math.ceil(Math.min(bottom, 4000));
    await s('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const { data } = await s('Page.captureScreenshot', { format: 'png', clip: { x: 0, y: 0, width, height, scale: 1 } });
    writeFileSync(shot, Buffer.from(data, 'base64'));
    await s('Emulation.setDeviceMetricsOverride', { width: 1500, height: 900, deviceScaleFactor: 1, mobile: false });
  }
  const click = option('click');
  if (click) {
    const box = await evaluate(`(() => {
      const cell = Array.from(document.querySelectorAll('#matrix .cell')).find((c) => c.dataset.cell === ${JSON.stringify(click)});
      if (!cell) return null;
      const a = cell.querySelector('a.timeline');
      a.scrollIntoView({ block: 'center', inline: 'center' });
      const r = a.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + Math.min(r.height / 2, 6), href: a.href };
    })()`);
    if (box) {
      const navigated = event('Page.loadEventFired', sessionId);
      for (const type of ['mousePressed', 'mouseReleased']) {
        await s('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
      }
      await navigated;
      out.timeline = {
        clicked: click, href: box.href,
        ...(await evaluate(`({
          url: location.href,
          root: document.documentElement.localName,
          lanes: Array.from(document.querySelectorAll('g.lane'), (g) => g.getAttribute('data-cell')),
          title: document.querySelector('text')?.textContent,
        })`)),
      };
    } else {
      out.timeline = { clicked: click, missing: true };
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  await s('Target.closeTarget', { targetId }).catch(() => {});
  await send('Browser.close').catch(() => {});
}

const timer = setTimeout(() => {
  console.error('probe: timed out; chromium said:\n' + stderr);
  browser.kill('SIGKILL');
  process.exit(1);
}, 60000);
main()
  .then(() => { clearTimeout(timer); })
  .catch((e) => {
    console.error('probe: ' + e.message + '\nchromium said:\n' + stderr);
    browser.kill('SIGKILL');
    process.exitCode = 1;
  })
  .finally(() => {
    browser.on('exit', () => rmSync(profile, { recursive: true, force: true }));
    setTimeout(() => { browser.kill('SIGKILL'); }, 3000).unref();
  });
