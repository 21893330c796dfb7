// The functions: sizing, logs, environment, asynchronous failures and dead-letter queues.
import { Template } from 'aws-cdk-lib/assertions';
import { RECOVERED_SENDS, SES_FEEDBACK, STEPS, SWEEPER, TidingsStack } from '../lib/tidings-stack';
import {
  SAMPLE,
  envOf,
  expectEnvironmentsOfTheFile,
  logicalId,
  resources,
  synthDefault,
  synthOtherStore,
} from './helpers';

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
  });

  test('one function per step and the sweeper, all arm64 on provided.al2023 with JSON logs', () => {
    const { [logicalId(stack, stack.keys.provider)]: keys, ...functions } = resources(template, 'AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(STEPS.length + 2);
    expect(Object.keys(stack.functions).sort()).toEqual([...STEPS.map((s) => s.name), SES_FEEDBACK, SWEEPER].sort());
    // And the Keys resource's Node.js function, run by CloudFormation at deployment only.
    expect(keys.Properties).toMatchObject({ Architectures: ['arm64'], Handler: 'index.handler', FunctionName: 'Tidings-keys' });
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toBe('provided.al2023');
      expect(fn.Properties.Handler).toBe('bootstrap');
      expect(fn.Properties.LoggingConfig.LogFormat).toBe('JSON');
      expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.any(String) });
    }
  });

  test('sizing: steps 256 MB / 30 s, the alarm setter 128 MB / 15 min; no reserved concurrency', () => {
    const functions = resources(template, 'AWS::Lambda::Function');
    for (const step of STEPS) {
      const fn = functions[logicalId(stack, stack.functions[step.name])];
      expect(fn.Properties).toMatchObject({ MemorySize: 256, Timeout: 30, FunctionName: `Tidings-${step.name}` });
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    const sweeper = functions[logicalId(stack, stack.functions[SWEEPER])];
    expect(sweeper.Properties).toMatchObject({ MemorySize: 128, Timeout: 900 });
    expect(sweeper.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('every log group has a retention of one month', () => {
    const groups = resources(template, 'AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toHaveLength(STEPS.length + 3);
    for (const group of Object.values(groups)) expect(group.Properties.RetentionInDays).toBe(30);
  });

  test('environment of docs/aws.md; STORE_CONFIG is the configuration file itself', () => {
    for (const step of STEPS) {
      const env = envOf(template, stack, step.name);
      expect(Object.keys(env).sort()).toEqual(
        [
          'EVENT_BUS_ARN',
          'EVENT_BUS_NAME',
          'FAILURES_QUEUE_ARN',
          'FOLLOW_UP_ALARM_GROUP',
          'FOLLOW_UP_ALARM_ROLE_ARN',
          'GUEST_ID_KEY_PARAMETER',
          'RUST_LOG',
          'SES_CONFIGURATION_SET_MARKETING',
          'SES_CONFIGURATION_SET_TRANSACTIONAL',
          'SIGNING_KEY_PARAMETER',
          'STORE_CONFIG',
          'TABLE_NAME',
        ].sort(),
      );
      expect(env.STORE_CONFIG).toBe(SAMPLE);
      expect(env.TABLE_NAME).toEqual({ Ref: logicalId(stack, stack.table) });
      expect(env.SIGNING_KEY_PARAMETER).toBe(`/tidings/${stack.stackName}/signing-key`);
      expect(env.GUEST_ID_KEY_PARAMETER).toBe(`/tidings/${stack.stackName}/guest-id-key`);
      expect(env.RUST_LOG).toBe('info');
    }
    const sweeper = envOf(template, stack, SWEEPER);
    expect(Object.keys(sweeper).sort()).toEqual([
      'EVENT_BUS_ARN',
      'EVENT_BUS_NAME',
      'FAILURES_QUEUE_ARN',
      'FOLLOW_UP_ALARM_GROUP',
      'FOLLOW_UP_ALARM_ROLE_ARN',
      'GUEST_ID_KEY_PARAMETER',
      'RUST_LOG',
      'STORE_CONFIG',
      'TABLE_NAME',
    ]);
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

  test('failed asynchronous invocations go to the dead-letter queue after Lambda retries', () => {
    const configs = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(STEPS.length + 2);
    for (const c of configs) {
      expect(c.Properties.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      expect(c.Properties.MaximumRetryAttempts).toBe(2);
    }
  });

  test('every step counts its recovered sends (the one possible duplicate) as a metric', () => {
    const filters = Object.values(resources(template, 'AWS::Logs::MetricFilter')).filter((f: any) =>
      JSON.stringify(f.Properties.MetricTransformations).includes(RECOVERED_SENDS.name),
    );
    expect(filters).toHaveLength(STEPS.length);
    for (const filter of filters as any[]) {
      expect(filter.Properties.FilterPattern).toBe('{ $.fields.metric = "recovered_send" }');
      expect(filter.Properties.MetricTransformations).toEqual([
        { MetricNamespace: RECOVERED_SENDS.namespace, MetricName: RECOVERED_SENDS.name, MetricValue: '1' },
      ]);
    }
  });
});

describe('variant: another store on the default bus, existing SES identity, unsubscribe function', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthOtherStore());
  });

  test('the alarm setter has no reserved concurrency either', () => {
    const sweeper = resources(template, 'AWS::Lambda::Function')[logicalId(stack, stack.functions[SWEEPER])];
    expect(sweeper.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});
