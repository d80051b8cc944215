'use strict';
/**
 * mock-imds from Node: starts the `mock-imds` binary (`$MOCK_IMDS_BIN`, else `PATH`) as
 * `mock-imds serve` on free loopback ports, reads the endpoints it prints
 * (`--print-endpoints json`), and drives it through its control API
 * (mock-imds/src/control/server.rs) with the global `fetch`. The same client API as the
 * Python package (python/src/mock_imds/_client.py), in camelCase.
 *
 * The process stops by itself when this one exits (it serves with
 * `--stop-on-stdin-eof` on a pipe from here), so a test that forgets `stop()` leaves
 * nothing behind; `stop()` stops and reaps it at once.
 */

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { BIN_ENV, findBinary } = require('./lib/binary');
const { sanitisedEnv } = require('./lib/env');
const { MockImdsError, StartError, ControlError } = require('./lib/errors');
const { configToml, durationText, signedDurationText, isCredentialFetch } = require('./lib/wire');

/** Resolves to true when `promise` settles within `ms`, else false; the timer (which
 * keeps Node running meanwhile) is cleared either way. */
function settlesWithin(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/** The temporary folders of mocks not stopped yet: removed when Node exits (the mocks
 * themselves stop then, their stdin closing). */
const unstopped = new Set();
let exitHook = false;
function removeAtExit(dir) {
  unstopped.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of unstopped) fs.rmSync(d, { recursive: true, force: true });
    });
  }
}

/**
 * One `mock-imds serve` process: a fake IMDS and a fake STS on free loopback ports, and
 * the control API that switches them. `await MockImds.start(options)`, then
 * `await mock.stop()` after the test (or `mockImds(t)` with node:test).
 *
 * Options: `bin` (default `$MOCK_IMDS_BIN`, else `PATH`), `state` (`"up"`, or fault specs
 * joined by `;`), `seed`, `port`/`stsPort`/`controlPort` (0, the default, picks free
 * ones), `startTimeoutMs` (30000), `requestTimeoutMs` (10000), and `settings`: the
 * instance's options, the keys of `mock-imds serve --config` (mock-imds/src/config.rs):
 * `{http_tokens: "required", role_name: "app", identity: {region: "eu-west-1"}}`.
 */
class MockImds {
  constructor(options = {}) {
    this.options = { state: 'up', port: 0, stsPort: 0, controlPort: 0, startTimeoutMs: 30000, requestTimeoutMs: 10000, settings: {}, ...options };
    this.child = null;
    this.endpoints = null;
    this.exited = null;
    this.restoreEnv = null;
  }

  /** Starts a mock and waits for its endpoints; rejects with a StartError saying why. */
  static async start(options) {
    const mock = new MockImds(options);
    await mock.start();
    return mock;
  }

  /** Starts `mock-imds serve` and waits (up to `startTimeoutMs`) for its endpoints. */
  async start() {
    if (this.child) throw new StartError('this MockImds is already started');
    const o = this.options;
    this.bin = findBinary(o.bin);
    this.workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mock-imds-'));
    removeAtExit(this.workdir);
    const argv = ['serve', '--port', String(o.port), '--sts-port', String(o.stsPort), '--control-port', String(o.controlPort),
      '--print-endpoints', 'json', '--stop-on-stdin-eof', '--state', o.state];
    if (o.seed !== undefined) argv.push('--seed', String(o.seed));
    if (Object.keys(o.settings).length > 0) {
      const config = path.join(this.workdir, 'config.toml');
      fs.writeFileSync(config, configToml(o.settings));
      argv.push('--config', config);
    }
    // The mock reads no AWS variable; it gets a minimal environment all the same.
    const env = {};
    for (const k of ['PATH', 'RUST_LOG', 'SYSTEMROOT']) if (process.env[k] !== undefined) env[k] = process.env[k];
    const child = spawn(this.bin, argv, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { if (stderr.length < 65536) stderr += d; });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const line = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => done(null, new StartError(
        `${this.bin} serve printed no endpoints within ${o.startTimeoutMs} ms; stderr: ${stderr.trim() || '(empty)'}`)), o.startTimeoutMs);
      const done = (value, error) => {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        if (error) reject(error); else resolve(value);
      };
      child.once('error', (e) => done(null, new StartError(`cannot run ${this.bin}: ${e.message}`)));
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl >= 0) done(out.slice(0, nl));
      });
      this.exited.then(({ code, signal }) => setImmediate(() => done(null, new StartError(
        `${this.bin} serve exited (${signal || `status ${code}`}) before serving (ports ${o.port}/${o.stsPort}/${o.controlPort}, 0 = any free one): ${stderr.trim() || '(no stderr)'}`))));
    }).catch(async (e) => {
      await this.stop();
      throw e;
    });
    try {
      this.endpoints = JSON.parse(line);
    } catch {
      await this.stop();
      throw new StartError(`${this.bin} serve printed ${JSON.stringify(line)}, not the JSON line of --print-endpoints json`);
    }
    // Nothing here keeps Node running: when it exits, the pipe closes and the mock stops.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) s.unref?.();
    child.stdout.resume();
    return this;
  }

  /** Stops the process and reaps it (closing its stdin, then SIGINT, then SIGKILL, each
   * after 5 s), restores `process.env` if `useEnv()` changed it, removes its files.
   * Idempotent. */
  async stop() {
    if (this.restoreEnv) this.restoreEnv();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.ref();
      const steps = [() => child.stdin.end(), () => child.kill('SIGINT'), () => child.kill('SIGKILL')];
      for (const step of steps) {
        try { step(); } catch { /* already gone */ }
        if (await settlesWithin(this.exited, 5000)) break;
      }
    }
    if (this.workdir) {
      fs.rmSync(this.workdir, { recursive: true, force: true });
      unstopped.delete(this.workdir);
    }
    this.workdir = null;
  }

  /** `await using mock = await MockImds.start()` stops it at the end of the block. */
  async [Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')]() {
    await this.stop();
  }

  /** True while the process is alive. */
  get running() {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The process id of `mock-imds serve`. */
  get pid() { return this.started().child.pid; }

  started() {
    if (!this.endpoints) throw new ControlError('mock-imds', null, 'not started: use `await MockImds.start()`');
    return this;
  }

  /** The IMDS base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  get endpoint() { return this.started().endpoints.imds; }
  /** The fake STS base URL. */
  get stsEndpoint() { return this.started().endpoints.sts; }
  /** The control API's base URL. */
  get controlEndpoint() { return this.started().endpoints.control; }
  /** The seed of the fault draws. A JS number: exact only up to 2^53 (the mock picks
   * 64-bit seeds; pass `seed` to `start` to know it exactly). */
  get seed() { return this.started().endpoints.seed; }

  /** The variables that point an SDK at this mock, as `mock-imds serve` prints them
   * (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_ENDPOINT_URL_STS`, `AWS_DEFAULT_REGION`,
   * `AWS_CONFIG_FILE`/`AWS_SHARED_CREDENTIALS_FILE` to an empty file). */
  get env() { return { ...this.started().endpoints.env }; }

  /** A whole environment for an SDK or a child process: `base` (default `process.env`)
   * sanitised (see `sanitisedEnv`) with `env` put in, and `AWS_REGION` too; `home`
   * defaults to an empty folder of this mock's. */
  sdkEnv(base = process.env, home) {
    if (!home) {
      home = path.join(this.started().workdir, 'home');
      fs.mkdirSync(home, { recursive: true });
    }
    const env = { ...sanitisedEnv(base, home), ...this.env };
    // The JS v3 SDK reads AWS_REGION, not AWS_DEFAULT_REGION (botocore's).
    env.AWS_REGION = env.AWS_DEFAULT_REGION;
    return env;
  }

  /** Replaces `process.env` with `sdkEnv()` for SDK clients created in this process;
   * returns a function that restores it (`stop()` calls it too). */
  useEnv() {
    const saved = { ...process.env };
    const wanted = this.sdkEnv(saved);
    for (const k of Object.keys(process.env)) if (!(k in wanted)) delete process.env[k];
    Object.assign(process.env, wanted);
    this.restoreEnv = () => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      this.restoreEnv = null;
    };
    return this.restoreEnv;
  }

  async call(method, urlPath, body) {
    const what = `${method} ${urlPath}`;
    let answer;
    try {
      answer = await fetch(this.controlEndpoint + urlPath, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
    } catch (e) {
      const gone = this.running ? '' : ' (mock-imds has exited)';
      throw new ControlError(what, null, `${e.cause?.message || e.message}${gone}`);
    }
    const text = await answer.text();
    if (!answer.ok) {
      let message = text;
      try { message = JSON.parse(text).error ?? text; } catch { /* not JSON */ }
      throw new ControlError(what, answer.status, message);
    }
    return text ? JSON.parse(text) : null;
  }

  /** Takes IMDS down: it refuses connections (`refuse`, as `mock-imds ctl down`). */
  down() { return this.fault('refuse'); }
  /** Removes every fault. Resolves to the state, in force by then. */
  up() { return this.call('DELETE', '/faults'); }
  /** Sets one fault (`"blackhole"`, `"status(403) on token"`, `"up on TARGET"`); a spec
   * the mock refuses rejects with a ControlError (400) carrying its message. */
  fault(spec) { return this.call('POST', '/faults', { fault: spec }); }
  /** Removes the fault on `target` (`listener`, `token`, `credentials`, `path(GLOB)`), or
   * every fault when omitted. */
  clear(target) {
    return target === undefined ? this.up() : this.call('DELETE', `/faults/${encodeURIComponent(target)}`);
  }
  /** Replaces the whole state (`"up"`, or fault specs joined by `;`). */
  setState(state) { return this.call('PUT', '/state', { state }); }
  /** Stops the schedule and removes every fault. */
  reset() { return this.call('POST', '/reset'); }

  /** Runs a schedule from now; resolves to its step count. `steps`: an array of
   * `[at, change]` or `{at, state}` (`at`: `"500ms"`, or milliseconds), or the path of a
   * schedule file (TOML), which `mock-imds ctl schedule` expands. */
  async schedule(steps) {
    if (typeof steps === 'string') return this.scheduleFile(steps);
    const wire = steps.map((s) => (Array.isArray(s) ? { at: durationText(s[0]), state: s[1] } : { at: durationText(s.at), state: s.state }));
    return (await this.call('POST', '/schedule', { steps: wire })).steps;
  }

  scheduleFile(file) {
    const port = new URL(this.controlEndpoint).port;
    const env = {};
    for (const k of ['PATH', 'SYSTEMROOT']) if (process.env[k] !== undefined) env[k] = process.env[k];
    return new Promise((resolve, reject) => {
      execFile(this.bin, ['ctl', '--control-port', port, 'schedule', '--json', file], { env, timeout: this.options.requestTimeoutMs + 10000 }, (error, stdout, stderr) => {
        if (error) {
          const message = String(stderr).trim().replace(/^error: /, '') || error.message;
          // `mock-imds ctl` reads and checks the file first: no HTTP status to report.
          reject(new ControlError(`schedule ${file}`, null, message));
        } else {
          resolve(JSON.parse(stdout).steps);
        }
      });
    });
  }

  /** Stops the running schedule. */
  stopSchedule() { return this.call('DELETE', '/schedule'); }

  /** The mock's clock `{now: Date, offsetMs}`; with `offset` (`"+5h52m"`, or signed
   * milliseconds), first jumps it by that much. */
  async clock(offset) {
    const a = offset === undefined ? await this.call('GET', '/clock') : await this.call('POST', '/clock', { by: signedDurationText(offset) });
    return { now: new Date(a.now), offsetMs: a.offset_ms };
  }

  /** Issues a new set of role credentials now: `{accessKeyId, expiration: Date}`. */
  async rotate() {
    const a = await this.call('POST', '/rotate');
    return { accessKeyId: a.access_key_id, expiration: new Date(a.expiration) };
  }

  /** `GET /state`: `{state, up, seed, events_recorded, events_dropped, imds_requests_recorded}`. */
  state() { return this.call('GET', '/state'); }
  /** The events kept so far, oldest first (`type`, `at_ms`, …; mock-imds/src/events/kinds.rs),
   * those at or after `sinceMs` only. */
  events(sinceMs = 0) { return this.call('GET', `/events?since_ms=${sinceMs}`); }
  /** How many role credential documents IMDS served (one per credential fetch). */
  async credentialFetches() { return (await this.events()).filter(isCredentialFetch).length; }
  /** The access key id of every request the fake STS received, in order (null when
   * unsigned). */
  async stsAccessKeys() {
    return (await this.events()).filter((e) => e.type === 'sts-request').map((e) => e.access_key_id ?? null);
  }
}

/**
 * For node:test: starts a mock for test context `t`, points `process.env` at it
 * (`useEnv()`), and stops it (restoring the environment) after the test, failed or not.
 * For Jest or Vitest: `MockImds.start()` in `beforeEach`, `useEnv()`, and `stop()` in
 * `afterEach`.
 */
async function mockImds(t, options) {
  const mock = await MockImds.start(options);
  t.after(() => mock.stop());
  mock.useEnv();
  return mock;
}

module.exports = { MockImds, mockImds, MockImdsError, StartError, ControlError, findBinary, sanitisedEnv, isCredentialFetch, BIN_ENV };
