'use strict';
// The npm package against the real binary (MOCK_IMDS_BIN, else PATH) and the pinned
// @aws-sdk/client-sts, run by scripts/test-packages with a planted AWS_ACCESS_KEY_ID and
// a planted ~/.aws/credentials (keys starting AKIAPLANTED). Everything is on loopback.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
const { MockImds, mockImds, ControlError, StartError } = require('..');

const ROLE_ARN_PART = ':assumed-role/mock-imds-role/';
const whoami = (client = new STSClient({})) => client.send(new GetCallerIdentityCommand({}));

async function assertOnlyMockKeys(mock) {
  const keys = await mock.stsAccessKeys();
  assert.ok(keys.length > 0, 'the fake STS saw no request');
  assert.ok(keys.every((k) => typeof k === 'string' && k.startsWith('ASIAMOCK')), JSON.stringify(keys));
}

test('the planted credentials are in the environment without a mock', () => {
  // The premise of the sanitisation tests: the runner did plant them.
  assert.match(process.env.AWS_ACCESS_KEY_ID || '', /^AKIAPLANTED/);
  assert.match(fs.readFileSync(path.join(os.homedir(), '.aws', 'credentials'), 'utf8'), /AKIAPLANTED/);
});

test('planted credentials never reach the SDK, and useEnv is undone after the test', async (t) => {
  await t.test('inside', async (t) => {
    const mock = await mockImds(t);
    assert.ok(!Object.keys(process.env).some((k) => k === 'AWS_ACCESS_KEY_ID' || k === 'AWS_PROFILE'));
    assert.ok(!fs.existsSync(path.join(os.homedir(), '.aws')));
    assert.ok((await whoami()).Arn.includes(ROLE_ARN_PART));
    await assertOnlyMockKeys(mock);
  });
  assert.match(process.env.AWS_ACCESS_KEY_ID || '', /^AKIAPLANTED/);
});

// Measured with @aws-sdk/client-sts 3.1177.0 (as scenarios/js-v3-cached-failure.toml
// encodes for js-v3 >= 3.27.0): the failed credential load is not cached, so the client
// whose call failed while IMDS refused recovers on its next call after up().
test('a client whose call failed while down recovers after up, and so does a new one', async (t) => {
  const mock = await mockImds(t);
  await mock.down();
  const early = new STSClient({});
  await assert.rejects(whoami(early), (e) => e.name === 'CredentialsProviderError');
  await mock.up();
  assert.ok((await whoami(early)).Arn.includes(ROLE_ARN_PART));
  assert.ok((await whoami()).Arn.includes(ROLE_ARN_PART));
  assert.ok((await mock.credentialFetches()) >= 1);
  await assertOnlyMockKeys(mock);
});

test('settings set the instance options: http_tokens required refuses IMDSv1', async (t) => {
  const mock = await mockImds(t, { settings: { http_tokens: 'required' } });
  assert.strictEqual((await fetch(`${mock.endpoint}/latest/meta-data/`)).status, 401);
  assert.ok((await whoami()).Arn.includes(ROLE_ARN_PART));
  const gets = (await mock.events()).filter((e) => e.type === 'imds-request' && e.method === 'GET' && e.status === 200);
  assert.ok(gets.length > 0 && gets.every((e) => e.token_present), JSON.stringify(gets));
});

test('settings take names and tables', async (t) => {
  await mockImds(t, { settings: { role_name: 'app-role', identity: { region: 'eu-west-1' } } });
  assert.ok((await whoami()).Arn.includes(':assumed-role/app-role/'));
});

test('a bad fault rejects with the mock\'s own message', async (t) => {
  const mock = await mockImds(t);
  await assert.rejects(mock.fault('status(forty-two)'), (e) => e instanceof ControlError && e.status === 400
    && e.mockMessage.includes('invalid fault `status(forty-two)`: the status must be a number'));
  assert.strictEqual((await mock.state()).up, true);
});

test('fault and clear on one target', async (t) => {
  const mock = await mockImds(t);
  assert.strictEqual((await mock.fault('status(500) on credentials')).up, false);
  await assert.rejects(whoami(), (e) => e.name === 'CredentialsProviderError');
  assert.strictEqual((await mock.clear('credentials')).up, true);
  assert.ok((await whoami()).Arn.includes(ROLE_ARN_PART));
});

async function waitForTransitions(mock, states, withinMs = 10000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const seen = (await mock.events()).filter((e) => e.type === 'transition').map((e) => e.state);
    if (JSON.stringify(seen.slice(-states.length)) === JSON.stringify(states)) return;
    assert.ok(Date.now() < deadline, `transitions ${seen}, expected to end with ${states}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('schedules of steps and of files, and a file\'s error with file:line:column', async (t) => {
  const mock = await mockImds(t);
  assert.strictEqual(await mock.schedule([['0s', 'refuse'], [200, 'up']]), 2);
  await waitForTransitions(mock, ['refuse', 'up']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mock-imds-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A good file: `mock-imds ctl schedule --json` answers the step count.
  const good = path.join(dir, 'good.toml');
  fs.writeFileSync(good, '[[schedule]]\nat = "0s"\nstate = "up"\n[[schedule]]\nat = "1ms"\nstate = "up"\n');
  assert.strictEqual(await mock.schedule(good), 2);
  const bad = path.join(dir, 'bad.toml');
  fs.writeFileSync(bad, '[[schedule]]\nat = "soon"\nstate = "refuse"\n');
  await assert.rejects(mock.schedule(bad), (e) => e instanceof ControlError && e.mockMessage.includes(`${bad}:2:`));
  assert.strictEqual((await mock.stopSchedule()).up, true);
});

test('a held port fails the start saying so', async () => {
  const held = net.createServer();
  await new Promise((r) => held.listen(0, '127.0.0.1', r));
  const { port } = held.address();
  try {
    await assert.rejects(MockImds.start({ port }), (e) => e instanceof StartError
      && e.message.includes('serve exited (status 2) before serving')
      && e.message.includes(`127.0.0.1:${port}: Address already in use`));
  } finally {
    held.close();
  }
});

test('a missing binary and a bad setting fail the start saying so', async () => {
  await assert.rejects(MockImds.start({ bin: '/no/such/mock-imds' }), (e) => e instanceof StartError && e.message.includes('/no/such/mock-imds'));
  await assert.rejects(MockImds.start({ settings: { http_tokens: 'sometimes' } }), (e) => e instanceof StartError && /config\.toml:1:\d+: unknown variant `sometimes`/.test(e.message));
});

const gone = (pid) => { try { process.kill(pid, 0); return false; } catch (e) { return e.code === 'ESRCH'; } };

test('no mock (nor its folder) outlives a failing test, nor a test run that forgot stop()', async () => {
  const fixture = path.join(__dirname, '..', 'test-fixtures', 'fails-on-purpose.js');
  // Its own run, not a child of this one (node --test marks its children NODE_TEST_CONTEXT).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const { code, stdout } = await new Promise((resolve) => {
    execFile(process.execPath, ['--test', '--test-reporter=tap', fixture], { env }, (error, out) => resolve({ code: error ? error.code : 0, stdout: out }));
  });
  const pids = [...stdout.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
  const workdirs = [...stdout.matchAll(/workdir (\S+)/g)].map((m) => m[1]);
  assert.strictEqual(workdirs.length, 1, stdout);
  assert.ok(!fs.existsSync(workdirs[0]), `the forgotten mock's ${workdirs[0]} is left`);
  assert.strictEqual(code, 1, stdout);
  assert.match(stdout, /# fail 1\n/);
  assert.match(stdout, /# pass 2\n/);
  assert.strictEqual(pids.length, 2, stdout);
  const deadline = Date.now() + 10000;
  while (!pids.every(gone)) {
    assert.ok(Date.now() < deadline, `still running 10 s after the run: ${pids.filter((p) => !gone(p))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});
