'use strict';
// Run by test/mock-imds.test.js as its own `node --test`: a test that fails while its mock
// runs (the next test checks its t.after stopped it), and a test that forgets stop()
// (this process's exit closes the mock's stdin, which stops it). Prints each pid.
const test = require('node:test');
const assert = require('node:assert');
const { MockImds, mockImds } = require('..');

let failedPid;
test('fails on purpose while its own mock is down', async (t) => {
  const mock = await mockImds(t);
  failedPid = mock.pid;
  console.log(`pid ${mock.pid}`);
  await mock.down();
  assert.fail('planted failure, with a mock running');
});

test('the failed test\'s mock was stopped and reaped by its t.after', () => {
  assert.throws(() => process.kill(failedPid, 0), (e) => e.code === 'ESRCH');
});

test('starts a mock and forgets to stop it', async () => {
  const mock = await MockImds.start();
  console.log(`pid ${mock.pid}`);
  console.log(`workdir ${mock.workdir}`);
});
