'use strict';
// Where the `mock-imds` binary is: the `bin` option, `$MOCK_IMDS_BIN`, else `PATH`.

const fs = require('node:fs');
const path = require('node:path');
const { StartError } = require('./errors');

/** The environment variable naming the binary to run, ahead of `PATH`. */
const BIN_ENV = 'MOCK_IMDS_BIN';

/** The path of the `mock-imds` binary: `explicit`, `$MOCK_IMDS_BIN`, else the first on
 * `PATH`. Throws a StartError saying where it looked. */
function findBinary(explicit) {
  const named = explicit || process.env[BIN_ENV];
  const runnable = (p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (named) {
    if (runnable(named)) return named;
    throw new StartError(`${explicit ? 'bin' : `$${BIN_ENV}`}=${JSON.stringify(named)} is not an executable file`);
  }
  const name = process.platform === 'win32' ? 'mock-imds.exe' : 'mock-imds';
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && runnable(path.join(dir, name))) return path.join(dir, name);
  }
  throw new StartError(
    `no ${name} on PATH: install it (cargo install --path mock-imds, or the mock-imds wheel) or set $${BIN_ENV}`,
  );
}

module.exports = { BIN_ENV, findBinary };
