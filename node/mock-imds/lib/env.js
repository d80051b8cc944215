'use strict';
// The environment an SDK under test gets: every real credential source out.

/** Variables taken out besides every `AWS_*` one: botocore's boto2 config file (for a
 * Python child). */
const EXTRA_UNSET = ['BOTO_CONFIG'];

/**
 * `base` without any real credential source: no `AWS_*` variable (keys, profiles, config
 * files, container and web-identity variables, `AWS_EC2_METADATA_DISABLED`,
 * `AWS_ENDPOINT_URL*`), no `BOTO_CONFIG`, `HOME` (and `USERPROFILE`) set to `home` (an
 * empty folder, so `~/.aws` is not found), and loopback added to `NO_PROXY`.
 */
function sanitisedEnv(base, home) {
  const env = {};
  for (const [k, v] of Object.entries(base)) {
    if (!k.toUpperCase().startsWith('AWS_') && !EXTRA_UNSET.includes(k) && v !== undefined) env[k] = v;
  }
  env.HOME = home;
  if ('USERPROFILE' in env) env.USERPROFILE = home;
  for (const name of ['NO_PROXY', 'no_proxy']) {
    const hosts = (env[name] || '').split(',').filter(Boolean);
    for (const h of ['127.0.0.1', 'localhost']) if (!hosts.includes(h)) hosts.push(h);
    env[name] = hosts.join(',');
  }
  return env;
}

module.exports = { EXTRA_UNSET, sanitisedEnv };
