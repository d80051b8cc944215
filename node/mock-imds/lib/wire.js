'use strict';
// The values the control API and `serve --config` exchange: the config file (TOML),
// schedule and clock durations, and which events are credential fetches.

function tomlValue(v) {
  if (typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v))) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  throw new TypeError(`a mock-imds setting must be a string, integer or boolean, not ${JSON.stringify(v)}`);
}

/** The instance settings as a `mock-imds serve --config` file (tables last). */
function configToml(settings) {
  const isTable = (v) => v !== null && typeof v === 'object';
  const lines = Object.entries(settings)
    .filter(([, v]) => !isTable(v))
    .map(([k, v]) => `${k} = ${tomlValue(v)}`);
  for (const [k, table] of Object.entries(settings).filter(([, v]) => isTable(v))) {
    lines.push(`[${k}]`);
    for (const [tk, tv] of Object.entries(table)) lines.push(`${tk} = ${tomlValue(tv)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A schedule time as the control API takes it: a duration string, or milliseconds. */
function durationText(at) {
  if (typeof at === 'string') return at;
  if (typeof at !== 'number' || !(at >= 0)) throw new TypeError(`a schedule step's "at" must be a duration string or milliseconds >= 0, not ${at}`);
  return `${Math.round(at)}ms`;
}

/** A clock jump as `POST /clock` takes it: `"+5h52m"`, or signed milliseconds. */
function signedDurationText(by) {
  if (typeof by === 'string') return by;
  if (typeof by !== 'number' || !Number.isFinite(by)) throw new TypeError(`a clock offset must be a string like "+5h52m" or milliseconds, not ${by}`);
  return `${by < 0 ? '-' : '+'}${Math.abs(Math.round(by))}ms`;
}

/** True for an `imds-request` event that served a role credentials document (200), as
 * `Event::is_credential_fetch` in mock-imds/src/events/kinds.rs. */
function isCredentialFetch(e) {
  if (e.type !== 'imds-request' || e.status !== 200) return false;
  const at = String(e.path).indexOf('/meta-data/iam/');
  return at >= 0 && e.path.slice(at + '/meta-data/iam/'.length).startsWith('security-credentials') && !e.path.endsWith('/');
}

module.exports = { configToml, durationText, signedDurationText, isCredentialFetch };
