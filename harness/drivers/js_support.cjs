// Shared by the JS drivers of imds-harness (js_driver.cjs for v3, js_v2_driver.cjs for v2):
// the loopback guard (installed on require), the seeded Math.random, the driver-fault
// test and the JSON-lines loop of harness/src/driver/jsonl.rs.
'use strict';

const net = require('net');
const readline = require('readline');

// ---- loopback guard: every connection to a non-loopback address is refused ---------
// In a link-local cell the harness runs the process in a network namespace of the cell's
// own and sets IMDS_HARNESS_NETNS, IMDS_HARNESS_HOST_NETNS and IMDS_HARNESS_LINK_LOCAL;
// the listed 169.254.0.0/16 addresses are then allowed, but only if this process's own
// namespace (/proc/self/ns/net) is the one named, is not the harness's, and has no
// interface but lo (/proc/self/net/dev): the variables alone never open anything.
function linkLocalAllowed() {
  const netns = process.env.IMDS_HARNESS_NETNS;
  const listed = process.env.IMDS_HARNESS_LINK_LOCAL;
  if (!netns || !listed) return { allowed: new Set(), whyNot: 'not a link-local cell' };
  let own;
  let ifaces;
  try {
    const fs = require('fs');
    own = fs.readlinkSync('/proc/self/ns/net');
    ifaces = fs.readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2)
      .filter((l) => l.includes(':')).map((l) => l.split(':')[0].trim());
  } catch (e) {
    return { allowed: new Set(), whyNot: `cannot read this process's network namespace: ${e.message}` };
  }
  if (own !== netns || own === process.env.IMDS_HARNESS_HOST_NETNS) {
    return { allowed: new Set(), whyNot: `this process is in ${own}, not the cell's namespace ${netns}` };
  }
  if (ifaces.length !== 1 || ifaces[0] !== 'lo') {
    return { allowed: new Set(), whyNot: `this namespace has interfaces ${ifaces.join(',')}, not only lo` };
  }
  const allowed = new Set(listed.split(',').filter((a) => net.isIPv4(a) && a.startsWith('169.254.')));
  return { allowed, whyNot: "not one of the cell's link-local addresses" };
}
const LINK_LOCAL = linkLocalAllowed();
function isLoopback(host) {
  if (host === undefined || host === null || host === '' || host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.') || LINK_LOCAL.allowed.has(host);
  if (net.isIPv6(host)) return host === '::1';
  return false;
}
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  let options = args[0];
  if (Array.isArray(options)) options = options[0];
  let host;
  if (options !== null && typeof options === 'object') {
    if (options.path) return connect.apply(this, args);
    host = options.host;
  } else if (typeof options === 'number' || (typeof options === 'string' && /^\d+$/.test(options))) {
    host = typeof args[1] === 'string' ? args[1] : undefined;
  } else {
    return connect.apply(this, args); // a unix socket path
  }
  if (!isLoopback(host)) {
    const why = net.isIPv4(host) && host.startsWith('169.254.') ? ` (link-local: ${LINK_LOCAL.whyNot})` : '';
    throw new Error(`imds-harness blocked a connection to ${host}: drivers may only reach the mocks on loopback${why}`);
  }
  return connect.apply(this, args);
};

// mulberry32: a small, well-distributed 32-bit PRNG, seeded from the scenario's seed.
function seededRandom(seed) {
  let a = Number(BigInt.asUintN(32, BigInt(seed))) ^ 0x9e3779b9;
  return function random() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// What the SDK logged as warnings since the last answer: console.warn (the default logger
// of @smithy/credential-provider-imds's staticStabilityProvider, "Attempting credential
// expiration extension ...") and the warn/error of the logger the drivers give clients.
// Each answer carries them as "sdk_warnings" (harness/src/driver/jsonl.rs).
const sdkWarnings = [];
function recordWarning(level, logger, args) {
  const message = args
    .map((a) => (a instanceof Error ? String(a.stack || a) : typeof a === 'string' ? a : JSON.stringify(a)))
    .join(' ');
  sdkWarnings.push({ level, logger, message });
}
const consoleWarn = console.warn.bind(console);
console.warn = (...args) => {
  recordWarning('warn', 'console', args);
  consoleWarn(...args);
};
// The logger the drivers give clients (and providers): warn recorded, the rest dropped as
// by the SDK's default NoOpLogger (error is the loggerMiddleware's report of every failed
// command, not a warning of the SDK's).
const recordingLogger = {
  trace() {},
  debug() {},
  info() {},
  warn: (...args) => recordWarning('warn', 'client logger', args),
  error() {},
};

function answer(obj) {
  if (sdkWarnings.length > 0 && !obj.ready) obj = { ...obj, sdk_warnings: sdkWarnings.splice(0) };
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// The credentials as the SDK holds them: {expiration: RFC 3339 | null, account_id}.
function heldCredentials(creds) {
  const expiration = creds && creds.expiration instanceof Date && !Number.isNaN(creds.expiration.getTime())
    ? creds.expiration.toISOString()
    : null;
  return { expiration, account_id: (creds && creds.accountId) || null };
}

// Why `e` is the driver's own problem rather than the SDK's (a connection the loopback
// guard blocked, i.e. a misrouted endpoint; or a programming error thrown from the file
// `driverFile`), else null. Such errors are answered as driver_error, never as an SDK
// error kind. Follows `cause` (v3) and `originalError` (v2).
const GUARD_MARK = 'imds-harness blocked a connection';
function driverFault(e, driverFile) {
  const seen = new Set();
  const stack = [e];
  while (stack.length > 0) {
    const c = stack.pop();
    if (!c || typeof c !== 'object' || seen.has(c)) continue;
    seen.add(c);
    if (String(c.message || '').includes(GUARD_MARK)) {
      return `the loopback guard blocked a connection (a misrouted endpoint): ${c.message}`;
    }
    stack.push(c.cause, c.originalError);
  }
  if (e instanceof TypeError || e instanceof ReferenceError || e instanceof SyntaxError) {
    const frames = String(e.stack || '').split('\n').filter((l) => l.trim().startsWith('at '));
    if (frames.length > 0 && (frames[0].includes(driverFile) || frames[0].includes(__filename))) {
      return `the driver's own code threw: ${e.stack}`;
    }
  }
  return null;
}

// Every STS request of a call carries the call's id, so the fake STS can tie it to the
// attempt (mock_imds::sts::CALL_ID_HEADER).
const CALL_ID_HEADER = 'x-mock-imds-call-id';

// Prints the greeting, then answers each request line with `await handle(request)`, one
// at a time, in order; exits at end of input once the last answer is written.
function serve(greeting, handle) {
  answer(greeting);
  const lines = readline.createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    if (!line.trim()) return;
    queue = queue.then(async () => {
      let request;
      try {
        request = JSON.parse(line);
      } catch (e) {
        answer({ driver_error: `request is not JSON: ${e.message}` });
        return;
      }
      try {
        answer(await handle(request));
      } catch (e) {
        answer({ driver_error: String((e && e.stack) || e) });
      }
    });
  });
  lines.on('close', () => queue.then(() => process.exit(0)));
}

module.exports = { seededRandom, driverFault, serve, CALL_ID_HEADER, recordingLogger, heldCredentials, recordWarning };
