// The Keys custom resource's code (lib/stack/keys/index.js) against moto's server with the real
// AWS SDK v3 clients: a new stack gets generated keys, a stack deployed with the Secrets Manager
// secrets gets their values unchanged, a second run keeps what exists, and no error is taken for
// "no old secret".
import { spawn, ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage } from 'node:http';
import { createServer, AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as cloudformation from '@aws-sdk/client-cloudformation';
import * as secrets from '@aws-sdk/client-secrets-manager';
import * as ssm from '@aws-sdk/client-ssm';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const keys = require('../lib/stack/keys/index.js');

const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const SIGNING = '/tidings/Tidings/signing-key';
const GUEST = '/tidings/Tidings/guest-id-key';
const KEYS = [
  { name: SIGNING, legacy: 'SigningKeyEEFC2790', description: 'signing' },
  { name: GUEST, legacy: 'GuestIdKey40D306DC', description: 'guest ids' },
];

let moto: ChildProcess;
let endpoint: string;
const config = () => ({
  endpoint,
  region: 'eu-west-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
});
let clients: any;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until moto answers (it starts in about a second); fails after 30 s. */
async function ready(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/moto-api/`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto did not start at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: scripts/test creates the moto venv`);
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  // One request at a time, as the Rust AWS tests run it: PutParameter's Overwrite=false is atomic.
  moto = spawn(PYTHON, [join(ROOT, 'tests', 'support', 'moto_serial.py'), '-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
  await ready(endpoint);
  clients = {
    ssm: new ssm.SSMClient(config()),
    ssmCommands: ssm,
    cloudformation: new cloudformation.CloudFormationClient(config()),
    cloudformationCommands: cloudformation,
    secrets: new secrets.SecretsManagerClient(config()),
    secretsCommands: secrets,
  };
}, 60_000);

afterAll(() => moto?.kill());

beforeEach(async () => {
  await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
});

/** A stack holding a resource under each of `logicalIds` whose physical id is `<logical id>-name`. */
async function stack(logicalIds: string[]): Promise<string> {
  const resources: Record<string, unknown> = { Placeholder: parameter('placeholder') };
  for (const id of logicalIds) resources[id] = parameter(`${id}-name`);
  const created = await clients.cloudformation.send(
    new cloudformation.CreateStackCommand({ StackName: 'Tidings', TemplateBody: JSON.stringify({ Resources: resources }) }),
  );
  return created.StackId!;
}

// moto's CloudFormation cannot create an AWS::SecretsManager::Secret: a parameter stands in for the
// resource (DescribeStackResource gives its physical id) and a secret of that name holds the value.
function parameter(name: string) {
  return { Type: 'AWS::SSM::Parameter', Properties: { Name: name, Type: 'String', Value: 'x' } };
}

async function value(name: string): Promise<string> {
  const got = await clients.ssm.send(new ssm.GetParameterCommand({ Name: name, WithDecryption: true }));
  expect(got.Parameter.Type).toBe('SecureString');
  return got.Parameter.Value;
}

test('a new stack: both keys generated, 48 random base64url characters each, then kept', async () => {
  const stackId = await stack([]);
  expect(await Promise.all(KEYS.map((k) => keys.ensureKey(clients, stackId, k)))).toEqual(['generated', 'generated']);
  const [signing, guest] = [await value(SIGNING), await value(GUEST)];
  for (const key of [signing, guest]) expect(key).toMatch(/^[A-Za-z0-9_-]{48}$/);
  expect(signing).not.toBe(guest);
  // Every later deployment.
  expect(await Promise.all(KEYS.map((k) => keys.ensureKey(clients, stackId, k)))).toEqual(['kept', 'kept']);
  expect([await value(SIGNING), await value(GUEST)]).toEqual([signing, guest]);
});

test('a stack deployed with the Secrets Manager secrets: their values copied unchanged', async () => {
  const stackId = await stack(['SigningKeyEEFC2790', 'GuestIdKey40D306DC']);
  const rotated = JSON.stringify({ current: 'new-signing-key-0123456789abcdefghijklmnop', previous: 'old-signing-key-0123456789abcdefghijklmnop' });
  const guestKey = 'the-guest-id-key-of-a-live-store-0123456789ab';
  for (const [name, secret] of [
    ['SigningKeyEEFC2790-name', rotated],
    ['GuestIdKey40D306DC-name', guestKey],
  ]) {
    await clients.secrets.send(new secrets.CreateSecretCommand({ Name: name, SecretString: secret }));
  }
  expect(await Promise.all(KEYS.map((k) => keys.ensureKey(clients, stackId, k)))).toEqual(['copied', 'copied']);
  expect(await value(SIGNING)).toBe(rotated);
  expect(await value(GUEST)).toBe(guestKey);
});

test('an existing parameter is never replaced, also not by an old secret', async () => {
  const stackId = await stack(['GuestIdKey40D306DC']);
  await clients.secrets.send(new secrets.CreateSecretCommand({ Name: 'GuestIdKey40D306DC-name', SecretString: 'older' }));
  await clients.ssm.send(new ssm.PutParameterCommand({ Name: GUEST, Value: 'current-key', Type: 'SecureString' }));
  expect(await keys.ensureKey(clients, stackId, KEYS[1])).toBe('kept');
  expect(await value(GUEST)).toBe('current-key');
});

test('two runs at once (a retried request): one value wins and both agree on it', async () => {
  const stackId = await stack([]);
  const done = await Promise.all([keys.ensureKey(clients, stackId, KEYS[0]), keys.ensureKey(clients, stackId, KEYS[0])]);
  expect(done.sort()).toEqual(['generated', 'kept']);
  expect(await value(SIGNING)).toMatch(/^[A-Za-z0-9_-]{48}$/);
});

test('an error other than "no such resource" fails instead of generating a key', async () => {
  // A stack CloudFormation does not know: DescribeStackResource fails with another ValidationError.
  await expect(keys.ensureKey(clients, 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Gone/1', KEYS[1])).rejects.toThrow(
    /does not exist/,
  );
  await expect(clients.ssm.send(new ssm.GetParameterCommand({ Name: GUEST }))).rejects.toThrow();
});

describe('the handler answers CloudFormation', () => {
  let answers: any[];
  let responseUrl: string;
  let server: ReturnType<typeof createHttpServer>;
  const saved = { ...process.env };
  beforeAll(async () => {
    answers = [];
    server = createHttpServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        answers.push({ method: request.method, body: JSON.parse(body) });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?signed=1`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
  });
  afterAll(() => {
    server.close();
    process.env = saved;
  });

  const event = (stackId: string, type = 'Create') => ({
    RequestType: type,
    ResponseURL: responseUrl,
    StackId: stackId,
    RequestId: 'request-1',
    LogicalResourceId: 'Keys',
    ResourceType: 'Custom::TidingsKeys',
    ResourceProperties: { ServiceToken: 'arn', Keys: KEYS },
  });

  test('SUCCESS after making both keys; the answer holds no key', async () => {
    answers.length = 0;
    const stackId = await stack([]);
    await keys.handler(event(stackId), { logStreamName: 'stream' });
    expect(answers).toHaveLength(1);
    expect(answers[0].method).toBe('PUT');
    expect(answers[0].body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'tidings-keys', RequestId: 'request-1' });
    const text = JSON.stringify(answers[0].body);
    for (const name of [SIGNING, GUEST]) expect(text).not.toContain(await value(name));
  });

  test('FAILED with the reason, never a hang, when a key cannot be made', async () => {
    answers.length = 0;
    await keys.handler(event('arn:aws:cloudformation:eu-west-1:123456789012:stack/Gone/1'), { logStreamName: 'stream' });
    expect(answers[0].body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'tidings-keys' });
    expect(answers[0].body.Reason).toContain('does not exist');
  });

  test('Delete leaves the parameters', async () => {
    answers.length = 0;
    const stackId = await stack([]);
    await keys.handler(event(stackId), { logStreamName: 'stream' });
    const before = await value(GUEST);
    await keys.handler({ ...event(stackId, 'Delete'), PhysicalResourceId: 'tidings-keys' }, { logStreamName: 'stream' });
    expect(answers[1].body.Status).toBe('SUCCESS');
    expect(await value(GUEST)).toBe(before);
  });

  // The FollowUpAlarms resource, served by the same function. Its one call is an asynchronous
  // Invoke, which moto cannot run (it needs Docker): a recording Lambda client stands in.
  describe('FollowUpAlarms starts the alarm setter once per migration', () => {
    const invoked: any[] = [];
    const lambda = (status: number) => ({
      lambda: {
        send: async (command: { input: unknown }) => {
          invoked.push(command.input);
          return { StatusCode: status };
        },
      },
      lambdaCommands: {
        InvokeCommand: class {
          constructor(readonly input: unknown) {}
        },
      },
    });
    const alarms = (type: string, migration: string, old?: string) => ({
      ...event('arn:aws:cloudformation:eu-west-1:123456789012:stack/Tidings/1', type),
      LogicalResourceId: 'FollowUpAlarms',
      ResourceType: 'Custom::TidingsFollowUpAlarms',
      ResourceProperties: { ServiceToken: 'arn', FunctionName: 'Tidings-follow-up-sweeper', Migration: migration, SettleSeconds: '60' },
      ...(old === undefined ? {} : { OldResourceProperties: { Migration: old }, PhysicalResourceId: 'tidings-follow-up-alarms' }),
    });
    beforeEach(() => {
      answers.length = 0;
      invoked.length = 0;
    });

    test('Create: started without waiting for it, with the time to let old code finish', async () => {
      await keys.handle(alarms('Create', 'alarms-1'), { logStreamName: 'stream' }, lambda(202));
      expect(invoked).toEqual([
        { FunctionName: 'Tidings-follow-up-sweeper', InvocationType: 'Event', Payload: JSON.stringify({ settle_seconds: 60 }) },
      ]);
      expect(answers[0].body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'tidings-follow-up-alarms' });
    });

    test('an update within the same migration starts nothing; a new migration starts it again', async () => {
      await keys.handle(alarms('Update', 'alarms-1', 'alarms-1'), { logStreamName: 'stream' }, lambda(202));
      expect(invoked).toHaveLength(0);
      await keys.handle(alarms('Update', 'alarms-2', 'alarms-1'), { logStreamName: 'stream' }, lambda(202));
      expect(invoked).toHaveLength(1);
      expect(answers.map((a) => a.body.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    });

    test('Delete starts nothing', async () => {
      await keys.handle(alarms('Delete', 'alarms-1', 'alarms-1'), { logStreamName: 'stream' }, lambda(202));
      expect(invoked).toHaveLength(0);
      expect(answers[0].body.Status).toBe('SUCCESS');
    });

    test('a setter Lambda did not accept fails the deployment', async () => {
      await keys.handle(alarms('Create', 'alarms-1'), { logStreamName: 'stream' }, lambda(500));
      expect(answers[0].body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'tidings-follow-up-alarms' });
      expect(answers[0].body.Reason).toContain('not started');
    });
  });
});
