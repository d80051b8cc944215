// js-v3 driver for imds-harness: the real AWS SDK for JavaScript v3 behind the JSON-lines
// protocol of harness/src/driver/jsonl.rs. Clients use the SDK's default credential chain
// (with empty AWS config files it ends at IMDS), or, when `timeout_ms`/`max_retries` are
// set, fromInstanceMetadata with those options. Error kinds are the SDK's error `name`
// (CredentialsProviderError, ExpiredToken, ...). Every connection to a non-loopback
// address is refused. @aws-sdk/client-sts is found through NODE_PATH.
'use strict';

const net = require('net');
const readline = require('readline');

// ---- loopback guard ---------------------------------------------------------------
function isLoopback(host) {
  if (host === undefined || host === null || host === '' || host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
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
    throw new Error(`imds-harness blocked a connection to ${host}: drivers may only reach the mocks on loopback`);
  }
  return connect.apply(this, args);
};

// ---- the SDK ----------------------------------------------------------------------
const sts = require('@aws-sdk/client-sts');
const version = require('@aws-sdk/client-sts/package.json').version;

function imdsProvider(options) {
  for (const name of ['@smithy/credential-provider-imds', '@aws-sdk/credential-provider-imds']) {
    try {
      return require(name).fromInstanceMetadata(options);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw new Error('no credential-provider-imds package next to @aws-sdk/client-sts');
}

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

function answer(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function errorOf(e) {
  const kind = (e && (e.name || e.code)) || 'Error';
  return { kind, message: String((e && e.message) || e) };
}

// Why `e` is this driver's own problem rather than the SDK's (a connection the loopback
// guard blocked, i.e. a misrouted endpoint; or a programming error thrown from this
// file), else null. Such errors are answered as driver_error, never as an SDK error kind.
const GUARD_MARK = 'imds-harness blocked a connection';
function driverFault(e) {
  const seen = new Set();
  for (let c = e; c && typeof c === 'object' && !seen.has(c); c = c.cause) {
    seen.add(c);
    if (String(c.message || '').includes(GUARD_MARK)) {
      return `the loopback guard blocked a connection (a misrouted endpoint): ${c.message}`;
    }
  }
  if (e instanceof TypeError || e instanceof ReferenceError || e instanceof SyntaxError) {
    const frames = String(e.stack || '').split('\n').filter((l) => l.trim().startsWith('at '));
    if (frames.length > 0 && frames[0].includes(__filename)) {
      return `the driver's own code threw: ${e.stack}`;
    }
  }
  return null;
}

// Every STS request of a call carries the call's id, so the fake STS can tie it to the
// attempt (added in the build step, before the SDK's retries and signing).
const CALL_ID_HEADER = 'x-mock-imds-call-id';
let currentCallId = null;

function addCallId(next) {
  return async (args) => {
    if (currentCallId !== null && args.request && args.request.headers) {
      args.request.headers[CALL_ID_HEADER] = currentCallId;
    }
    return next(args);
  };
}

let settings = null;
let client = null;
let clientError = null; // what creating the current client threw

async function handle(request) {
  switch (request.op) {
    case 'configure': {
      settings = request;
      // The SDK's own jitter (the static-stability refresh time of extended credentials,
      // retry backoff) draws from Math.random: seeded, a scenario's run is the same every
      // time; another seed explores other draws.
      if (request.seed !== undefined && request.seed !== null) Math.random = seededRandom(request.seed);
      process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = request.imds_endpoint.replace(/\/$/, '') + '/';
      process.env.AWS_ENDPOINT_URL_STS = request.sts_endpoint;
      process.env.AWS_REGION = request.region;
      return { ok: true };
    }
    case 'new_session':
      return { ok: true };
    case 'new_client': {
      if (!settings) return { driver_error: 'new_client before configure' };
      const config = { region: settings.region, endpoint: settings.sts_endpoint };
      const s = settings.settings || {};
      if (s.timeout_ms !== undefined || s.max_retries !== undefined) {
        const options = {};
        if (s.timeout_ms !== undefined) options.timeout = s.timeout_ms;
        if (s.max_retries !== undefined) options.maxRetries = s.max_retries;
        config.credentials = imdsProvider(options);
      }
      clientError = null;
      try {
        client = new sts.STSClient(config);
      } catch (e) {
        client = null;
        const fault = driverFault(e);
        if (fault) return { driver_error: fault };
        clientError = errorOf(e);
        return { error: clientError };
      }
      client.middlewareStack.add(addCallId, { step: 'build', name: 'mockImdsCallId' });
      return { ok: true, credentials_resolved: null };
    }
    case 'call': {
      if (!client) {
        if (!clientError) return { driver_error: 'call before new_client' };
        // The application has no client: its call fails with what creation threw.
        return { error: { kind: clientError.kind, message: `no client: creating it threw: ${clientError.message}` } };
      }
      currentCallId = request.call_id === undefined ? null : String(request.call_id);
      try {
        const out = await client.send(new sts.GetCallerIdentityCommand({}));
        let key = null;
        try {
          const creds = await client.config.credentials();
          key = creds && creds.accessKeyId;
        } catch (e) {
          key = null;
        }
        return { arn: out.Arn, access_key_id: key };
      } catch (e) {
        const fault = driverFault(e);
        return fault ? { driver_error: fault } : { error: errorOf(e) };
      } finally {
        currentCallId = null;
      }
    }
    case 'drop_client':
      if (client && typeof client.destroy === 'function') client.destroy();
      client = null;
      return { ok: true };
    default:
      return { driver_error: `unknown op ${JSON.stringify(request.op)}` };
  }
}

answer({ ready: true, sdk: `js-v3 @aws-sdk/client-sts ${version} (node ${process.version})` });
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
