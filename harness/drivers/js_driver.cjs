// js-v3 driver for imds-harness: the real AWS SDK for JavaScript v3 behind the JSON-lines
// protocol of harness/src/driver/jsonl.rs. Clients use the SDK's default credential chain
// (with empty AWS config files it ends at IMDS), or, when `timeout_ms`/`max_retries` are
// set, fromInstanceMetadata with those options. Error kinds are the SDK's error `name`
// (CredentialsProviderError, ExpiredToken, ...). Every connection to a non-loopback
// address is refused (js_support.cjs). @aws-sdk/client-sts is found through NODE_PATH.
'use strict';

const { seededRandom, driverFault: fault, serve, CALL_ID_HEADER, recordingLogger, heldCredentials } = require('./js_support.cjs');

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

function errorOf(e) {
  const kind = (e && (e.name || e.code)) || 'Error';
  return { kind, message: String((e && e.message) || e) };
}

const driverFault = (e) => fault(e, __filename);

// Every STS request of a call carries the call's id (added in the build step, before the
// SDK's retries and signing).
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
      // region null (region_from_imds): the SDK finds one itself, or fails.
      if (request.region !== null && request.region !== undefined) process.env.AWS_REGION = request.region;
      // The SDK's own variables passed through (AWS_EC2_METADATA_DISABLED, ...).
      for (const [name, value] of Object.entries(request.env || {})) process.env[name] = String(value);
      // The container credential provider's variables ([endpoint]), from the mock.
      for (const [name, value] of Object.entries(request.container_env || {})) process.env[name] = value;
      return { ok: true };
    }
    case 'new_session':
      return { ok: true };
    case 'new_client': {
      if (!settings) return { driver_error: 'new_client before configure' };
      const config = { endpoint: settings.sts_endpoint, logger: recordingLogger };
      if (settings.region !== null && settings.region !== undefined) config.region = settings.region;
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
        let held = { expiration: null, account_id: null };
        try {
          const creds = await client.config.credentials();
          key = creds && creds.accessKeyId;
          held = heldCredentials(creds);
        } catch (e) {
          key = null;
        }
        return { arn: out.Arn, access_key_id: key, ...held };
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

serve({ ready: true, sdk: `js-v3 @aws-sdk/client-sts ${version} (node ${process.version})` }, handle);
