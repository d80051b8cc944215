'use strict';
// clock() and rotate() against the mock's GET/POST /clock and POST /rotate (the contract:
// {"now": RFC 3339, "offset_ms"} and {"access_key_id", "expiration": RFC 3339}).
const test = require('node:test');
const assert = require('node:assert');
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
const { mockImds } = require('..');

test('the clock jumps by the offset', async (t) => {
  const mock = await mockImds(t);
  const before = await mock.clock();
  const after = await mock.clock('+5h52m');
  const jumpMs = (5 * 3600 + 52 * 60) * 1000;
  assert.strictEqual(after.offsetMs - before.offsetMs, jumpMs);
  assert.ok(after.now - before.now >= jumpMs);
  assert.strictEqual((await mock.clock(-52 * 60 * 1000)).offsetMs, after.offsetMs - 52 * 60 * 1000);
});

test('rotate issues the keys a new client then signs with', async (t) => {
  const mock = await mockImds(t);
  await new STSClient({}).send(new GetCallerIdentityCommand({}));
  const first = (await mock.stsAccessKeys()).at(-1);
  const rotation = await mock.rotate();
  assert.ok(rotation.accessKeyId.startsWith('ASIAMOCK') && rotation.accessKeyId !== first);
  assert.ok(rotation.expiration > new Date());
  await new STSClient({}).send(new GetCallerIdentityCommand({}));
  assert.strictEqual((await mock.stsAccessKeys()).at(-1), rotation.accessKeyId);
});
