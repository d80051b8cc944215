// js-v2 driver for imds-harness: the real AWS SDK for JavaScript v2 (npm `aws-sdk`) behind
// the JSON-lines protocol of harness/src/driver/jsonl.rs (README "Bring your own driver").
//
// Credentials come from IMDS only: the SDK's default provider chain
// (AWS.CredentialProviderChain.defaultProviders) is restricted to one provider,
// `new AWS.EC2MetadataCredentials(options)`, with the `[driver.NAME]` settings as its
// options and the mock as its MetadataService endpoint. Clients are `new AWS.STS()`, as an
// application writes them: they take their credentials from the global `AWS.config`
// (resolved by the chain on a client's first request; see aws-sdk/lib/config.js
// getCredentials). `new_session` replaces the global `AWS.config` with a new one, the
// closest thing v2 has to a session. Error kinds are the SDK's error `code`
// (CredentialsError, ExpiredToken, ...). Every connection to a non-loopback address is
// refused (js_support.cjs); aws-sdk is found through NODE_PATH.
'use strict';

const { seededRandom, driverFault: fault, serve, CALL_ID_HEADER, recordWarning } = require('./js_support.cjs');

process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
const AWS = require('aws-sdk');

const driverFault = (e) => fault(e, __filename);

function errorOf(e) {
  const kind = (e && (e.code || e.name)) || 'Error';
  return { kind, message: String((e && e.message) || e) };
}

let settings = null;
let client = null;

// The EC2MetadataCredentials options of the cell's settings (defaults in
// ec2_metadata_credentials.js: timeout 1000 ms, connectTimeout 1000 ms, maxRetries 3).
function metadataOptions() {
  const s = settings.settings || {};
  const options = { endpoint: settings.imds_endpoint.replace(/\/$/, '') };
  const httpOptions = {};
  if (s.timeout_ms !== undefined) httpOptions.timeout = s.timeout_ms;
  if (s.connect_timeout_ms !== undefined) httpOptions.connectTimeout = s.connect_timeout_ms;
  if (Object.keys(httpOptions).length > 0) options.httpOptions = httpOptions;
  if (s.max_retries !== undefined) options.maxRetries = s.max_retries;
  if (s.ec2_metadata_v1_disabled !== undefined) options.ec2MetadataV1Disabled = s.ec2_metadata_v1_disabled;
  return options;
}

// `logger = true`: AWS.config.logger writes the SDK's log lines to stderr (default: none;
// EC2MetadataCredentials calls `this.logger.warn` when it extends expired credentials).
const stderrLogger = {
  log: (...args) => process.stderr.write(args.join(' ') + '\n'),
  warn: (...args) => {
    recordWarning('warn', 'AWS.config.logger', args);
    process.stderr.write(args.join(' ') + '\n');
  },
};

function newGlobalConfig() {
  const options = { region: settings.region };
  if ((settings.settings || {}).logger === true) options.logger = stderrLogger;
  AWS.config = new AWS.Config(options);
}

async function handle(request) {
  switch (request.op) {
    case 'configure': {
      settings = request;
      // The SDK's own jitter (the expiry extension of EC2MetadataCredentials, retry
      // backoff) draws from Math.random: seeded, a scenario's run is the same every time.
      if (request.seed !== undefined && request.seed !== null) Math.random = seededRandom(request.seed);
      // The SDK's own variables passed through (AWS_EC2_METADATA_DISABLED, ...).
      for (const [name, value] of Object.entries(request.env || {})) process.env[name] = String(value);
      // The container credential provider's variables ([endpoint]), from the mock; with
      // them the chain is the SDK's own order: the container provider, then IMDS.
      const containerEnv = Object.entries(request.container_env || {});
      for (const [name, value] of containerEnv) process.env[name] = value;
      AWS.CredentialProviderChain.defaultProviders = [() => new AWS.EC2MetadataCredentials(metadataOptions())];
      if (containerEnv.length > 0) AWS.CredentialProviderChain.defaultProviders.unshift(() => new AWS.ECSCredentials());
      newGlobalConfig();
      return { ok: true };
    }
    case 'new_session':
      if (!settings) return { driver_error: 'new_session before configure' };
      newGlobalConfig();
      return { ok: true };
    case 'new_client':
      if (!settings) return { driver_error: 'new_client before configure' };
      client = new AWS.STS({ region: settings.region, endpoint: settings.sts_endpoint });
      return { ok: true, credentials_resolved: null };
    case 'call': {
      if (!client) return { driver_error: 'call before new_client' };
      const callId = request.call_id === undefined ? null : String(request.call_id);
      const req = client.getCallerIdentity({});
      // Every request of the call (the SDK's retries included) carries the call's id.
      req.on('build', () => {
        if (callId !== null) req.httpRequest.headers[CALL_ID_HEADER] = callId;
      });
      try {
        const out = await req.promise();
        const creds = client.config.credentials;
        // v2's credentials hold their expiry as expireTime and no account id.
        const expiration = creds && creds.expireTime instanceof Date ? creds.expireTime.toISOString() : null;
        return { arn: out.Arn, access_key_id: (creds && creds.accessKeyId) || null, expiration, account_id: null };
      } catch (e) {
        const problem = driverFault(e);
        return problem ? { driver_error: problem } : { error: errorOf(e) };
      }
    }
    case 'drop_client':
      client = null;
      return { ok: true };
    default:
      return { driver_error: `unknown op ${JSON.stringify(request.op)}` };
  }
}

serve({ ready: true, sdk: `js-v2 aws-sdk ${AWS.VERSION} (node ${process.version})` }, handle);
