// A Shopify store ([shopify]): the shopify function, its rules on the partner event bus and (for
// tidings' unsubscribes) the tidings bus, the steps' extra source and the credentials parameter;
// and, without [shopify], none of it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import { SES_FEEDBACK, SHOPIFY, SHOPIFY_TOPICS, STEPS, SWEEPER, TidingsStack } from '../lib/tidings-stack';
import {
  NAG,
  SAMPLE,
  SHOPIFY_EVENT_SOURCE,
  asArray,
  envOf,
  expectEnvironmentsOfTheFile,
  logicalId,
  resources,
  statements,
  statementsOf,
  synth,
  synthDefault,
  synthShopify,
} from './helpers';

/** `arn:${Partition}:ssm:${Region}:${Account}:parameter/<name without its leading />`. */
function parameterArn(name: string): unknown {
  return {
    'Fn::Join': [
      '',
      ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter${name}`],
    ],
  };
}

// The merchant's parameters (`ssm:GetParameter`); the stack's own keys are read with `ssm:GetParameters` (iam.test.ts).
const ssmStatements = (own: any[]): any[] => own.filter((s) => asArray<string>(s.Action).includes('ssm:GetParameter'));

describe('variant: the sample store with [shopify] (custom bus, default credentials parameter)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthShopify());
  });

  test('cdk-nag reports no unsuppressed error or warning', () => {
    expect(Annotations.fromStack(stack).findError('*', NAG).map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', NAG).map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
  });

  test('the shopify function: arm64 on provided.al2023, sized like a step, with the environment of infra/functions.json', () => {
    const fn = stack.functions[SHOPIFY];
    expect(fn).toBeDefined();
    const props = resources(template, 'AWS::Lambda::Function')[logicalId(stack, fn)].Properties;
    expect(props).toMatchObject({
      FunctionName: 'Tidings-shopify',
      Architectures: ['arm64'],
      Runtime: 'provided.al2023',
      MemorySize: 256,
      Timeout: 30,
    });
    expect(envOf(template, stack, SHOPIFY)).toEqual({
      EVENT_BUS_NAME: { Ref: logicalId(stack, stack.bus as any) },
      STORE_CONFIG: expect.stringContaining('[shopify]'),
      RUST_LOG: 'info',
      SHOPIFY_CREDENTIALS_PARAMETER: '/tidings/shopify/credentials',
    });
    expectEnvironmentsOfTheFile(template, stack, false, true, false);
  });

  test('one rule on the partner event bus: the event source, shopifyWebhook, only the topics tidings reads', () => {
    const onPartnerBus = Object.values(resources(template, 'AWS::Events::Rule')).filter(
      (r) => r.Properties.EventBusName === SHOPIFY_EVENT_SOURCE,
    );
    expect(onPartnerBus).toHaveLength(1);
    const [rule] = onPartnerBus;
    expect(rule.Properties.EventPattern).toEqual({
      source: [SHOPIFY_EVENT_SOURCE],
      'detail-type': ['shopifyWebhook'],
      detail: { metadata: { 'X-Shopify-Topic': [...SHOPIFY_TOPICS] } },
    });
    expect(SHOPIFY_TOPICS).toHaveLength(18);
    expect(SHOPIFY_TOPICS).toEqual(expect.arrayContaining(['orders/create', 'customers/redact', 'shop/redact']));
    // Imported, not created: the bus comes with the partner event source.
    template.resourceCountIs('AWS::Events::EventBus', 1);
  });

  test('the rule targets the function with a dead-letter queue and the retry policy of every rule', () => {
    const fnId = logicalId(stack, stack.functions[SHOPIFY]);
    const rule = Object.values(resources(template, 'AWS::Events::Rule')).find(
      (r) => r.Properties.EventBusName === SHOPIFY_EVENT_SOURCE,
    )!;
    expect(rule.Properties.Targets).toHaveLength(1);
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    const dlqId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
    expect(dlqId).toBe(logicalId(stack, stack.failures));
    // Lambda's own retries end in the same queue.
    const invokeConfig = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig')).find(
      (c) => c.Properties.FunctionName.Ref === fnId,
    )!;
    expect(invokeConfig.Properties.MaximumRetryAttempts).toBe(2);
    expect(invokeConfig.Properties.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [dlqId, 'Arn'] });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  test("a second rule, on the tidings bus: tidings' CustomerUnsubscribed to the function, with its DLQ and the retry of every rule", () => {
    const fnId = logicalId(stack, stack.functions[SHOPIFY]);
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    const mirror = rules.filter((r) => asArray<string>(r.Properties.EventPattern?.['detail-type']).includes('CustomerUnsubscribed'));
    expect(mirror).toHaveLength(1);
    const [rule] = mirror;
    expect(rule.Properties.EventBusName).toEqual({ Ref: logicalId(stack, stack.bus as any) });
    expect(rule.Properties.EventPattern).toEqual({ source: ['tidings'], 'detail-type': ['CustomerUnsubscribed'] });
    expect(rule.Properties.Targets).toHaveLength(1);
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    // The same dead-letter queue as the webhooks: the stack's one failures queue.
    const webhooks = rules.find((r) => r.Properties.EventBusName === SHOPIFY_EVENT_SOURCE)!;
    expect(target.DeadLetterConfig).toEqual(webhooks.Properties.Targets[0].DeadLetterConfig);
    // Only the shopify function reads it: no step is invoked for tidings' own announcement.
    const readers = rules.filter((r) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('CustomerUnsubscribed'));
    expect(readers).toEqual([rule]);
  });

  test('it puts events on the tidings bus, only with source "tidings.shopify", and has no table or SES access', () => {
    const own = statementsOf(template, stack, SHOPIFY);
    const put = own.filter((s) => asArray<string>(s.Action).includes('events:PutEvents'));
    expect(put).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': [logicalId(stack, stack.bus as any), 'Arn'] },
        Condition: { StringEquals: { 'events:source': 'tidings.shopify' } },
      }),
    ]);
    const actions = own.flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => /^(dynamodb|ses|secretsmanager):|^ssm:GetParameters$/.test(a))).toEqual([]);
  });

  test("the steps' store-event rules also accept the translated events (source tidings.shopify)", () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    for (const step of STEPS) {
      const fnArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(stack, stack.functions[step.name]), 'Arn'] });
      const patterns = rules
        .filter((r) => r.Properties.Targets.some((t: any) => JSON.stringify(t.Arn) === fnArn))
        .map((r) => r.Properties.EventPattern);
      expect(patterns).toEqual(
        expect.arrayContaining([{ source: ['shop.example', 'tidings.shopify'], 'detail-type': step.detailTypes }]),
      );
    }
  });

  test('ssm:GetParameter on exactly the credentials parameter, for the steps and the shopify function only', () => {
    const expected = [{ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn('/tidings/shopify/credentials') }];
    for (const name of [...STEPS.map((s) => s.name), SHOPIFY]) {
      expect([name, ssmStatements(statementsOf(template, stack, name)).map(({ Sid: _sid, ...s }) => s)]).toEqual([
        name,
        expected,
      ]);
    }
    for (const name of [SES_FEEDBACK, SWEEPER]) expect(ssmStatements(statementsOf(template, stack, name))).toEqual([]);
    for (const step of STEPS) {
      expect(envOf(template, stack, step.name).SHOPIFY_CREDENTIALS_PARAMETER).toBe('/tidings/shopify/credentials');
    }
    // aws/ssm (an AWS-managed key) decrypts through SSM for the account: no KMS statement.
    const all = statements(template);
    expect(all.flatMap((s) => asArray<string>(s.statement.Action)).filter((a) => a.startsWith('kms:'))).toEqual([]);
    for (const { statement } of all) expect(asArray(statement.Resource)).not.toContain('*');
  });

  test('the stack does not create the parameter (its secret value must not be in the template)', () => {
    template.resourceCountIs('AWS::SSM::Parameter', 0);
  });

  test('[shopify] only adds: every resource of the deployment without it keeps its logical id', () => {
    const without = Object.keys(synthDefault().template.toJSON().Resources);
    expect(Object.keys(template.toJSON().Resources)).toEqual(expect.arrayContaining(without));
  });
});

describe('variant: [shopify] with its own credentials parameter, on the default bus', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthShopify('credentials_parameter = "/maple/shopify-admin"\n', { useDefaultBus: 'true' }));
  });

  test('the configured parameter is the one granted and passed; events go to the default bus', () => {
    for (const name of [...STEPS.map((s) => s.name), SHOPIFY]) {
      expect(ssmStatements(statementsOf(template, stack, name))).toEqual([
        expect.objectContaining({ Action: 'ssm:GetParameter', Resource: parameterArn('/maple/shopify-admin') }),
      ]);
      expect(envOf(template, stack, name).SHOPIFY_CREDENTIALS_PARAMETER).toBe('/maple/shopify-admin');
    }
    expect(envOf(template, stack, SHOPIFY).EVENT_BUS_NAME).toBe('default');
    const put = statementsOf(template, stack, SHOPIFY).find((s) => asArray<string>(s.Action).includes('events:PutEvents'));
    expect(JSON.stringify(put.Resource)).toContain(':event-bus/default');
    // The partner bus is still where the webhooks are read; tidings' unsubscribes are on the default bus.
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: SHOPIFY_EVENT_SOURCE });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: { source: ['tidings'], 'detail-type': ['CustomerUnsubscribed'] },
    });
  });
});

describe('default deployment (no [shopify])', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
  });

  test('no shopify function, no rule on a partner bus, no tidings.shopify source, no SSM grant or variable', () => {
    expect(stack.functions[SHOPIFY]).toBeUndefined();
    const functions = Object.values(resources(template, 'AWS::Lambda::Function'));
    expect(functions.map((f) => f.Properties.FunctionName)).not.toContain('Tidings-shopify');
    for (const fn of functions) expect(fn.Properties.Environment?.Variables.SHOPIFY_CREDENTIALS_PARAMETER).toBeUndefined();
    const rules = JSON.stringify(resources(template, 'AWS::Events::Rule'));
    expect(rules).not.toContain('aws.partner/');
    expect(rules).not.toContain('shopifyWebhook');
    expect(rules).not.toContain('tidings.shopify');
    // Nothing mirrors an unsubscribe: the event stays on the bus for the store's own integration.
    expect(rules).not.toContain('CustomerUnsubscribed');
    const names = Object.keys(stack.functions);
    expect(names.flatMap((name) => ssmStatements(statementsOf(template, stack, name)))).toEqual([]);
    expect(Object.keys(template.toJSON().Resources).filter((id) => id.startsWith('Shopify'))).toEqual([]);
    expectEnvironmentsOfTheFile(template, stack, false, false);
  });
});

test('synthesis fails with a clear message when [shopify] has no event_source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-infra-'));
  const configPath = join(dir, 'no-source.toml');
  writeFileSync(configPath, `${SAMPLE}\n[shopify]\nshop = "maple-moss.myshopify.com"\n`);
  expect(() => synth({ config: configPath })).toThrow(/no-source.toml: shopify.event_source is missing/);
});
