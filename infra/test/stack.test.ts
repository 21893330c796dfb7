// Assertions on the synthesised template (no snapshots). Synthesis skips bundling: no cargo, Docker,
// network or AWS credentials are needed.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import {
  RECOVERED_SENDS,
  SES_DETAIL_TYPES,
  SES_FEEDBACK,
  STEP_TABLE_ACTIONS,
  STEPS,
  SWEEPER,
  SWEEPER_TABLE_ACTIONS,
  TidingsStack,
  UNSUBSCRIBE,
} from '../lib/tidings-stack';
import { loadFunctions } from '../lib/functions';
import { ROOT, SAMPLE_CONFIG, asArray, logicalId, resources, statements, synth } from './helpers';

const SAMPLE = readFileSync(SAMPLE_CONFIG, 'utf8');
const NAG = Match.stringLikeRegexp('AwsSolutions-.*|Serverless-.*');
const SCOPED_SERVICES = /^(dynamodb|ses|events|secretsmanager):/;

/** Logical id of the role of a function. */
function roleOf(template: Template, stack: TidingsStack, name: string): string {
  const fn = resources(template, 'AWS::Lambda::Function')[logicalId(stack, stack.functions[name])];
  return fn.Properties.Role['Fn::GetAtt'][0];
}

function statementsOf(template: Template, stack: TidingsStack, name: string): any[] {
  const role = roleOf(template, stack, name);
  return statements(template)
    .filter((s) => s.roles.includes(role))
    .map((s) => s.statement);
}

function envOf(template: Template, stack: TidingsStack, name: string): Record<string, unknown> {
  const fn = resources(template, 'AWS::Lambda::Function')[logicalId(stack, stack.functions[name])];
  return fn.Properties.Environment.Variables;
}

const FUNCTIONS = loadFunctions(ROOT);

/** Every deployed function has exactly the variables infra/functions.json gives it (the AWS tests use the same file). */
function expectEnvironmentsOfTheFile(template: Template, stack: TidingsStack, withUnsubscribe: boolean): void {
  const deployed = Object.keys(stack.functions).sort();
  const listed = Object.keys(FUNCTIONS).filter((name) => withUnsubscribe || name !== UNSUBSCRIBE);
  expect(deployed).toEqual(listed.sort());
  for (const name of deployed) {
    const expected = Object.entries(FUNCTIONS[name].environment)
      .filter(([, source]) => withUnsubscribe || source !== 'unsubscribeUrl')
      .map(([variable]) => variable);
    expect([name, Object.keys(envOf(template, stack, name)).sort()]).toEqual([name, expected.sort()]);
  }
}

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth({ unsubscribe: false }));
  });

  test('cdk-nag (AwsSolutions and Serverless packs) reports no unsuppressed error or warning', () => {
    const errors = Annotations.fromStack(stack).findError('*', NAG);
    expect(errors.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    const warnings = Annotations.fromStack(stack).findWarning('*', NAG);
    expect(warnings.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
  });

  test('one function per step and the sweeper, all arm64 on provided.al2023 with JSON logs', () => {
    const functions = resources(template, 'AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(STEPS.length + 2);
    expect(Object.keys(stack.functions).sort()).toEqual([...STEPS.map((s) => s.name), SES_FEEDBACK, SWEEPER].sort());
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toBe('provided.al2023');
      expect(fn.Properties.Handler).toBe('bootstrap');
      expect(fn.Properties.LoggingConfig.LogFormat).toBe('JSON');
      expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.any(String) });
    }
  });

  test('sizing: steps 256 MB / 30 s, sweeper 128 MB / 60 s; only the sweeper has reserved concurrency (1)', () => {
    const functions = resources(template, 'AWS::Lambda::Function');
    for (const step of STEPS) {
      const fn = functions[logicalId(stack, stack.functions[step.name])];
      expect(fn.Properties).toMatchObject({ MemorySize: 256, Timeout: 30, FunctionName: `Tidings-${step.name}` });
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    const sweeper = functions[logicalId(stack, stack.functions[SWEEPER])];
    expect(sweeper.Properties).toMatchObject({ MemorySize: 128, Timeout: 60, ReservedConcurrentExecutions: 1 });
  });

  test('every log group has a retention of one month', () => {
    const groups = resources(template, 'AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toHaveLength(STEPS.length + 2);
    for (const group of Object.values(groups)) expect(group.Properties.RetentionInDays).toBe(30);
  });

  test('environment of docs/aws.md; STORE_CONFIG is the configuration file itself', () => {
    for (const step of STEPS) {
      const env = envOf(template, stack, step.name);
      expect(Object.keys(env).sort()).toEqual(
        [
          'EVENT_BUS_NAME',
          'GUEST_ID_KEY_SECRET_ARN',
          'RUST_LOG',
          'SES_CONFIGURATION_SET_MARKETING',
          'SES_CONFIGURATION_SET_TRANSACTIONAL',
          'SIGNING_KEY_SECRET_ARN',
          'STORE_CONFIG',
          'TABLE_NAME',
        ].sort(),
      );
      expect(env.STORE_CONFIG).toBe(SAMPLE);
      expect(env.TABLE_NAME).toEqual({ Ref: logicalId(stack, stack.table) });
      expect(env.SIGNING_KEY_SECRET_ARN).toEqual({ Ref: logicalId(stack, stack.signingKey) });
      expect(env.GUEST_ID_KEY_SECRET_ARN).toEqual({ Ref: logicalId(stack, stack.guestIdKey) });
      expect(env.RUST_LOG).toBe('info');
    }
    const sweeper = envOf(template, stack, SWEEPER);
    expect(Object.keys(sweeper).sort()).toEqual([
      'EVENT_BUS_NAME',
      'GUEST_ID_KEY_SECRET_ARN',
      'RUST_LOG',
      'STORE_CONFIG',
      'TABLE_NAME',
    ]);
  });

  test("each step's rule matches the detailTypes of infra/functions.json (Rust's event::routing)", () => {
    const file = loadFunctions(ROOT);
    const rules = Object.values(resources(template, 'AWS::Events::Rule')).map((r: any) => r.Properties);
    for (const step of STEPS) {
      expect(step.detailTypes).toEqual(file[step.name].detailTypes);
      const own = rules.filter((r) => JSON.stringify(r.EventPattern?.['detail-type']) === JSON.stringify(step.detailTypes));
      expect(own).toHaveLength(1);
    }
    expect(STEPS.map((s) => s.name)).toEqual(['customer', 'order-confirmed', 'order-shipped', 'order-delivered', 'cart-abandoned']);
    expect(SES_DETAIL_TYPES).toContain('Email Bounced');
  });

  test('every function gets exactly the environment of infra/functions.json', () => {
    expectEnvironmentsOfTheFile(template, stack, false);
  });

  test('ses-events knows the configuration sets the steps send with, so it announces their sends as EmailSent', () => {
    // A step sending with a configuration set leaves EmailSent to SES's report of the send, which
    // ses-events announces only when it has the same sets (SesMailer::reports_sends).
    const sesEvents = envOf(template, stack, SES_FEEDBACK);
    for (const variable of ['SES_CONFIGURATION_SET_TRANSACTIONAL', 'SES_CONFIGURATION_SET_MARKETING']) {
      expect(sesEvents[variable]).toBeDefined();
      for (const step of STEPS) expect(envOf(template, stack, step.name)[variable]).toEqual(sesEvents[variable]);
    }
  });

  test('table: pk/sk, on-demand, PITR, TTL, GSI due, deletion protection, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          {
            IndexName: 'due',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'customer',
            KeySchema: [
              { AttributeName: 'gsi2pk', KeyType: 'HASH' },
              { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });

  test('a custom bus; per step one rule for its store events (config sources) and one for its FollowUpDue', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const busRef = { Ref: logicalId(stack, stack.bus as any) };
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    for (const step of STEPS) {
      const fnArn = { 'Fn::GetAtt': [logicalId(stack, stack.functions[step.name]), 'Arn'] };
      const toStep = rules.filter((r) => r.Properties.Targets.some((t: any) => JSON.stringify(t.Arn) === JSON.stringify(fnArn)));
      expect(toStep.map((r) => r.Properties.EventPattern)).toEqual(
        expect.arrayContaining([
          { source: ['shop.example'], 'detail-type': step.detailTypes },
          { source: ['tidings'], 'detail-type': ['FollowUpDue'], detail: { step: [step.name] } },
        ]),
      );
      expect(toStep).toHaveLength(2);
      for (const rule of toStep) expect(rule.Properties.EventBusName).toEqual(busRef);
    }
  });

  test('the sweeper runs every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, stack.functions[SWEEPER]), 'Arn'] } })],
    });
  });

  test('every rule target has a dead-letter queue and a retry policy', () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    expect(rules.length).toBe(STEPS.length * 2 + 3); // + sweeper schedule + SES forwarding + SES feedback
    for (const rule of rules) {
      for (const target of rule.Properties.Targets) {
        expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
        expect(target.RetryPolicy).toEqual({
          MaximumEventAgeInSeconds: expect.any(Number),
          MaximumRetryAttempts: expect.any(Number),
        });
      }
    }
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['shop.example'] },
      Targets: [Match.objectLike({ RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 } })],
    });
  });

  test('failed asynchronous invocations go to the dead-letter queue after Lambda retries', () => {
    const configs = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(STEPS.length + 2);
    for (const c of configs) {
      expect(c.Properties.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      expect(c.Properties.MaximumRetryAttempts).toBe(2);
    }
  });

  test('dead-letter queues: encrypted, 14 days, TLS only', () => {
    const queues = resources(template, 'AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(STEPS.length + 3); // + ses-events + sweeper + SES forwarding
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled ?? queue.Properties.KmsMasterKeyId).toBeTruthy();
      expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
    const policies = Object.values(resources(template, 'AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(Object.keys(queues).length);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      );
    }
  });

  test('SES: domain identity with Easy DKIM, two configuration sets sending their events to the default bus', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'shop.example',
      DkimAttributes: Match.absent(),
    });
    template.resourceCountIs('AWS::SES::ConfigurationSet', 2);
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'Tidings-transactional' });
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'Tidings-marketing' });
    const destinations = Object.values(resources(template, 'AWS::SES::ConfigurationSetEventDestination'));
    expect(destinations).toHaveLength(2);
    for (const d of destinations) {
      const dest = d.Properties.EventDestination;
      expect(dest.Enabled).toBe(true);
      expect(JSON.stringify(dest.EventBridgeDestination.EventBusArn)).toContain(':event-bus/default');
      expect(dest.MatchingEventTypes).toEqual(
        expect.arrayContaining(['bounce', 'complaint', 'delivery', 'open', 'click', 'reject', 'deliveryDelay', 'send']),
      );
    }
  });

  test('SES events of the two configuration sets are forwarded from the default bus to the tidings bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: {
        source: ['aws.ses'],
        detail: {
          mail: {
            tags: {
              'ses:configuration-set': [
                { Ref: logicalId(stack, stack.node.findChild('Transactional') as any) },
                { Ref: logicalId(stack, stack.node.findChild('Marketing') as any) },
              ],
            },
          },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack, stack.bus as any), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
          RetryPolicy: Match.anyValue(),
        }),
      ],
    });
  });

  test('the signing key and the guest-id key are generated 48-character secrets; the guest-id key is kept', () => {
    const secrets = resources(template, 'AWS::SecretsManager::Secret');
    expect(Object.keys(secrets).sort()).toEqual([logicalId(stack, stack.guestIdKey), logicalId(stack, stack.signingKey)].sort());
    for (const secret of Object.values(secrets) as any[]) {
      expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 48 });
    }
    const guestIdKey = secrets[logicalId(stack, stack.guestIdKey)] as any;
    expect(guestIdKey.DeletionPolicy).toBe('Retain');
    expect(guestIdKey.UpdateReplacePolicy).toBe('Retain');
  });

  test('alarms: every DLQ depth, every function errors and throttles, SES bounce and complaint rates', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const topic = { Ref: logicalId(stack, stack.alarmTopic) };
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([topic]);
      expect(a.ComparisonOperator).toBe('GreaterThanThreshold');
    }
    for (const queue of stack.deadLetterQueues) {
      const name = { 'Fn::GetAtt': [logicalId(stack, queue), 'QueueName'] };
      expect(
        alarms.filter(
          (a) =>
            a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
            a.Threshold === 0 &&
            JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: name }]),
        ),
      ).toHaveLength(1);
    }
    for (const fn of Object.values(stack.functions)) {
      const dims = JSON.stringify([{ Name: 'FunctionName', Value: { Ref: logicalId(stack, fn) } }]);
      for (const metric of ['Errors', 'Throttles']) {
        expect(
          alarms.filter((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === metric && JSON.stringify(a.Dimensions) === dims),
        ).toHaveLength(1);
      }
    }
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Namespace: 'AWS/SES', MetricName: 'Reputation.BounceRate', Threshold: 0.05 }),
        expect.objectContaining({ Namespace: 'AWS/SES', MetricName: 'Reputation.ComplaintRate', Threshold: 0.001 }),
      ]),
    );
    expect(alarms).toHaveLength(stack.deadLetterQueues.length + 2 * Object.keys(stack.functions).length + 2);
  });

  test('alarms are emailed to the configured reply-to address by default', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'help@shop.example' });
  });

  test('no IAM statement grants DynamoDB, SES, EventBridge or Secrets Manager actions on "*"', () => {
    const all = statements(template);
    expect(all.length).toBeGreaterThan(0);
    for (const { statement } of all) {
      const actions = asArray<string>(statement.Action);
      if (!actions.some((a) => SCOPED_SERVICES.test(a))) continue;
      expect(actions.every((a) => !a.endsWith(':*') && a !== '*')).toBe(true);
      for (const resource of asArray(statement.Resource)) expect(resource).not.toBe('*');
    }
    // Stronger: nothing in the stack needs Resource "*" at all.
    for (const { statement } of all) expect(asArray(statement.Resource)).not.toContain('*');
  });

  test('every step counts its recovered sends (the one possible duplicate) as a metric', () => {
    const filters = Object.values(resources(template, 'AWS::Logs::MetricFilter'));
    expect(filters).toHaveLength(STEPS.length);
    for (const filter of filters as any[]) {
      expect(filter.Properties.FilterPattern).toBe('{ $.fields.metric = "recovered_send" }');
      expect(filter.Properties.MetricTransformations).toEqual([
        { MetricNamespace: RECOVERED_SENDS.namespace, MetricName: RECOVERED_SENDS.name, MetricValue: '1' },
      ]);
    }
  });

  test('every DynamoDB operation the Rust store calls is granted to the steps', () => {
    // moto does not enforce IAM, so only this catches an operation added in Rust but not granted.
    const dir = join(ROOT, 'aws/src/dynamo');
    const source = readdirSync(dir)
      .filter((name) => name.endsWith('.rs'))
      .map((name) => readFileSync(join(dir, name), 'utf8'))
      .join('\n');
    const calls = new Set([...source.matchAll(/^\s*\.([a-z_]+)\(\)\s*$/gm)].map((m) => m[1]));
    const operations = ['get_item', 'batch_get_item', 'put_item', 'update_item', 'delete_item', 'query', 'scan'];
    const used = operations.filter((op) => calls.has(op));
    expect(used).toContain('batch_get_item');
    const action = (op: string) =>
      'dynamodb:' + op.replace(/(^|_)([a-z])/g, (_all: string, _sep: string, letter: string) => letter.toUpperCase());
    for (const op of used) expect(STEP_TABLE_ACTIONS).toContain(action(op));
  });

  test('steps: exactly the table actions of docs/aws.md on the table and its index', () => {
    const table = logicalId(stack, stack.table);
    for (const step of STEPS) {
      const dynamo = statementsOf(template, stack, step.name).filter((s) =>
        asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')),
      );
      expect(dynamo).toHaveLength(1);
      expect(asArray(dynamo[0].Action).sort()).toEqual([...STEP_TABLE_ACTIONS].sort());
      expect(dynamo[0].Resource).toEqual([
        { 'Fn::GetAtt': [table, 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/due']] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/customer']] },
      ]);
    }
  });

  test('ses-events: consumes SES events on the tidings bus, announces sends, may not send mail or read the signing key', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ses'], 'detail-type': Match.arrayWith(['Email Bounced', 'Email Complaint Received']) },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, stack.functions[SES_FEEDBACK]), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ses'], 'detail-type': Match.arrayWith(['Email Sent']) },
    });
    const own = statementsOf(template, stack, SES_FEEDBACK);
    const actions = own.flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => /^(ses|events):/.test(a))).toEqual(['events:PutEvents']);
    // Only the guest-id key: tags of mail an earlier release sent name guests by address.
    const secrets = own.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets.map((s) => s.Resource)).toEqual([{ Ref: logicalId(stack, stack.guestIdKey) }]);
  });

  test('the sweeper may Query the due index, upgrade the table, read the guest-id key and put events', () => {
    const table = logicalId(stack, stack.table);
    const own = statementsOf(template, stack, SWEEPER);
    const dynamo = own.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/due']] },
      }),
      expect.objectContaining({ Action: SWEEPER_TABLE_ACTIONS, Resource: { 'Fn::GetAtt': [table, 'Arn'] } }),
    ]);
    const actions = own.flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => a.startsWith('ses:'))).toEqual([]);
    const secrets = own.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toEqual([
      expect.objectContaining({
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: logicalId(stack, stack.guestIdKey) },
      }),
    ]);
  });

  test('every DynamoDB operation of the upgrade is granted to the sweeper', () => {
    const source = readFileSync(join(ROOT, 'aws/src/upgrade.rs'), 'utf8');
    const calls = new Set([...source.matchAll(/\.([a-z_]+)\(\)/g)].map((m) => m[1]));
    expect(calls).toContain('scan');
    expect(calls).toContain('update_item');
    // Moves are transactions of a put and a delete; the marker is read and put.
    for (const action of ['dynamodb:Scan', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem']) {
      expect(SWEEPER_TABLE_ACTIONS).toContain(action);
    }
  });

  test('SES sending is limited to the identity and the two configuration sets, from the configured address', () => {
    for (const step of STEPS) {
      const sesStatements = statementsOf(template, stack, step.name).filter((s) =>
        asArray<string>(s.Action).some((a) => a.startsWith('ses:')),
      );
      expect(sesStatements).toHaveLength(1);
      const [s] = sesStatements;
      expect(asArray(s.Action).sort()).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
      expect(s.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'hello@shop.example' } });
      const resourcesText = asArray(s.Resource).map((r) => JSON.stringify(r));
      expect(resourcesText.filter((r) => r.includes(':identity/shop.example"'))).toHaveLength(1);
      expect(resourcesText.filter((r) => r.includes(':configuration-set/'))).toHaveLength(2);
      expect(resourcesText.every((r) => r.includes(':identity/') || r.includes(':configuration-set/'))).toBe(true);
    }
  });

  test('events:PutEvents only on the tidings bus, only with source "tidings"; the secret only for steps', () => {
    const busArn = { 'Fn::GetAtt': [logicalId(stack, stack.bus as any), 'Arn'] };
    for (const name of [...STEPS.map((s) => s.name), SES_FEEDBACK, SWEEPER]) {
      const own = statementsOf(template, stack, name);
      const put = own.filter((s) => asArray<string>(s.Action).includes('events:PutEvents'));
      expect(put).toEqual([
        expect.objectContaining({ Resource: busArn, Condition: { StringEquals: { 'events:source': 'tidings' } } }),
      ]);
    }
    for (const step of STEPS) {
      const secret = statementsOf(template, stack, step.name).filter((s) =>
        asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')),
      );
      expect(secret).toEqual([
        expect.objectContaining({
          Action: 'secretsmanager:GetSecretValue',
          Resource: [{ Ref: logicalId(stack, stack.signingKey) }, { Ref: logicalId(stack, stack.guestIdKey) }],
        }),
      ]);
    }
  });

  test('roles use no AWS managed policies', () => {
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  test('without functions/unsubscribe there is no Function URL, and the output says what to do', () => {
    template.resourceCountIs('AWS::Lambda::Url', 0);
    template.hasOutput('UnsubscribeUrl', {
      Value: 'https://shop.example/unsubscribe',
      Description: Match.stringLikeRegexp('sender.unsubscribe_url'),
    });
  });
});

describe('variant: another store on the default bus, existing SES identity, unsubscribe function', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-infra-'));
    const configPath = join(dir, 'other-store.toml');
    writeFileSync(
      configPath,
      SAMPLE.replace('sources = ["shop.example"]', 'sources = ["shopify.other", "backfill.other"]')
        .replace('from_address = "hello@shop.example"', 'from_address = "news@mail.other.example"')
        .replace('reply_to = "help@shop.example"', 'reply_to = "team@other.example"'),
    );
    ({ stack, template } = synth({
      config: configPath,
      stackName: 'OtherStore',
      useDefaultBus: 'true',
      createSesIdentity: 'false',
      unsubscribe: 'true',
      alarmEmail: 'ops@other.example',
      sweeperReservedConcurrency: '0',
    }));
  });

  test('cdk-nag reports no unsuppressed error', () => {
    expect(Annotations.fromStack(stack).findError('*', NAG).map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
  });

  test('everything store-specific comes from the configuration file', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['shopify.other', 'backfill.other'], 'detail-type': STEPS[0].detailTypes },
    });
    const ses = statementsOf(template, stack, 'customer').find((s) => asArray<string>(s.Action).includes('ses:SendEmail'));
    expect(ses.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'news@mail.other.example' } });
    expect(JSON.stringify(ses.Resource)).toContain(':identity/mail.other.example"');
    expect(envOf(template, stack, 'customer').STORE_CONFIG).toContain('news@mail.other.example');
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@other.example' });
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'OtherStore-marketing' });
  });

  test('default bus: no custom bus, no forwarding rule, rules and PutEvents on the default bus', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    // SES events arrive on the default bus directly: consumed there, no forwarding rule.
    const ses = rules.filter((r) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('aws.ses'));
    expect(ses).toHaveLength(1);
    expect(JSON.stringify(ses[0].Properties.Targets)).toContain(logicalId(stack, stack.functions[SES_FEEDBACK]));
    for (const rule of rules) expect(rule.Properties.EventBusName ?? 'default').toBe('default');
    expect(envOf(template, stack, 'customer').EVENT_BUS_NAME).toBe('default');
    const put = statementsOf(template, stack, SWEEPER).find((s) => asArray<string>(s.Action).includes('events:PutEvents'));
    expect(JSON.stringify(put.Resource)).toContain(':event-bus/default');
  });

  test('an existing SES identity is not created again', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
  });

  test('sweeper concurrency can be left unreserved (accounts with a quota of 10)', () => {
    const sweeper = resources(template, 'AWS::Lambda::Function')[logicalId(stack, stack.functions[SWEEPER])];
    expect(sweeper.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('unsubscribe: arm64 function with a public Function URL passed to every step as UNSUBSCRIBE_URL', () => {
    const fn = stack.functions[UNSUBSCRIBE];
    expect(fn).toBeDefined();
    const props = resources(template, 'AWS::Lambda::Function')[logicalId(stack, fn)].Properties;
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Runtime).toBe('provided.al2023');
    const urls = resources(template, 'AWS::Lambda::Url');
    expect(Object.values(urls)).toEqual([
      expect.objectContaining({
        Properties: { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [logicalId(stack, fn), 'Arn'] } },
      }),
    ]);
    const urlId = Object.keys(urls)[0];
    for (const step of STEPS) {
      expect(envOf(template, stack, step.name).UNSUBSCRIBE_URL).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    }
    template.hasOutput('UnsubscribeUrl', { Value: { 'Fn::GetAtt': [urlId, 'FunctionUrl'] } });
  });

  test('every function gets exactly the environment of infra/functions.json, UNSUBSCRIBE_URL included', () => {
    expectEnvironmentsOfTheFile(template, stack, true);
  });

  test('unsubscribe has no SES permission', () => {
    const actions = statementsOf(template, stack, UNSUBSCRIBE).flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => a.startsWith('ses:'))).toEqual([]);
  });
});
