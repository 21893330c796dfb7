// Signed webhooks ([woocommerce], [aftership], [easypost]): the webhooks function behind a public
// Function URL, its dead-letter queue and alarms, its grants (each source's PutEvents, its secret
// parameters only, the queue), the steps' extra sources; and, without those sections, none of it.
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import { STEPS, TidingsStack, WEBHOOKS } from '../lib/tidings-stack';
import { NAG, WEBHOOK_TABLES, asArray, envOf, expectEnvironmentsOfTheFile, logicalId, resources, statementsOf, synthDefault, synthSample } from './helpers';

function synthWebhooks(tables = WEBHOOK_TABLES, context: Record<string, unknown> = {}): { stack: TidingsStack; template: Template } {
  return synthSample(tables, context);
}

describe('variant: the sample store with [woocommerce], [aftership] and [easypost]', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthWebhooks());
  });

  test('cdk-nag reports no unsuppressed error or warning', () => {
    expect(Annotations.fromStack(stack).findError('*', NAG).map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', NAG).map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
  });

  test('the function: arm64, a short timeout, a reserved concurrency, the environment of infra/functions.json', () => {
    const fn = stack.functions[WEBHOOKS];
    const props = resources(template, 'AWS::Lambda::Function')[logicalId(stack, fn)].Properties;
    expect(props).toMatchObject({
      FunctionName: 'Tidings-webhooks',
      Architectures: ['arm64'],
      Runtime: 'provided.al2023',
      Timeout: 10,
      ReservedConcurrentExecutions: 5,
    });
    const env = envOf(template, stack, WEBHOOKS);
    expect(Object.keys(env).sort()).toEqual(['DEAD_LETTER_QUEUE_URL', 'EVENT_BUS_NAME', 'RUST_LOG', 'STORE_CONFIG']);
    expect(env.STORE_CONFIG).toEqual(expect.stringContaining('[woocommerce]'));
    expectEnvironmentsOfTheFile(template, stack, false, false, true);
  });

  test('a public Function URL (the deliveries are signed) and its output', () => {
    const urls = Object.values(resources(template, 'AWS::Lambda::Url'));
    expect(urls).toHaveLength(1);
    expect(urls[0].Properties).toMatchObject({ AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [logicalId(stack, stack.functions[WEBHOOKS]), 'Arn'] } });
    template.hasOutput('WebhooksUrl', {});
  });

  test('what it cannot translate goes to the failures queue (DEAD_LETTER_QUEUE_URL), the one its alarm watches; no alarm of its own', () => {
    const env = envOf(template, stack, WEBHOOKS);
    expect(env.DEAD_LETTER_QUEUE_URL).toEqual({ Ref: logicalId(stack, stack.failures) });
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const fnId = logicalId(stack, stack.functions[WEBHOOKS]);
    expect(alarms.filter((a) => JSON.stringify(a).includes(fnId))).toEqual([]);
  });

  test('least privilege: PutEvents per source, the three webhook secrets only, SendMessage on its queue; no table, no SES', () => {
    const own = statementsOf(template, stack, WEBHOOKS);
    const actions = own.flatMap((s) => asArray<string>(s.Action));
    expect(actions.some((a) => a.startsWith('dynamodb:') || a.startsWith('ses:'))).toBe(false);
    const putEvents = own.filter((s) => asArray<string>(s.Action).includes('events:PutEvents'));
    expect(putEvents.map((s) => s.Condition.StringEquals['events:source']).sort()).toEqual([
      'tidings.aftership',
      'tidings.easypost',
      'tidings.woocommerce',
    ]);
    const ssm = own.filter((s) => asArray<string>(s.Action).includes('ssm:GetParameter'));
    expect(ssm).toHaveLength(1);
    expect(ssm[0].Action).toEqual('ssm:GetParameter');
    // The steps read the REST key and AfterShip's API key (order-shipped registers parcels), not the webhook secrets.
    const stepSsm = statementsOf(template, stack, 'order-shipped').filter((s) => asArray<string>(s.Action).includes('ssm:GetParameter'));
    expect(stepSsm.flatMap((s) => asArray<any>(s.Resource).map((r) => r['Fn::Join'][1].at(-1)))).toEqual([
      ':parameter/tidings/woocommerce/rest-credentials',
      ':parameter/tidings/aftership/api-key',
    ]);
    const names = asArray<any>(ssm[0].Resource).map((r) => r['Fn::Join'][1].at(-1));
    expect(names).toEqual([
      ':parameter/tidings/woocommerce/webhook-secret',
      ':parameter/tidings/aftership/webhook-secret',
      ':parameter/tidings/easypost/webhook-secret',
    ]);
    const sqs = own.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('sqs:')));
    expect(sqs.flatMap((s) => asArray<string>(s.Action))).toContain('sqs:SendMessage');
    for (const s of own) expect(asArray(s.Resource)).not.toContain('*');
  });

  test("the steps' rules accept the translated sources; order-shipped takes TrackingUpdated", () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule')).map((r) => r.Properties.EventPattern);
    const shipped = STEPS.find((s) => s.name === 'order-shipped')!;
    expect(shipped.detailTypes).toContain('TrackingUpdated');
    const rule = rules.find((p) => p?.['detail-type']?.includes('TrackingUpdated'));
    expect(rule.source).toEqual(expect.arrayContaining(['shop.example', 'tidings.woocommerce', 'tidings.aftership', 'tidings.easypost']));
  });

  test('0 leaves it unreserved (accounts whose concurrency quota is 10)', () => {
    const { stack: unreserved, template: t } = synthWebhooks(WEBHOOK_TABLES, { webhooksReservedConcurrency: '0' });
    const props = resources(t, 'AWS::Lambda::Function')[logicalId(unreserved, unreserved.functions[WEBHOOKS])].Properties;
    expect(props.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('only [aftership]: the function takes that source alone', () => {
  test('one PutEvents source and one secret', () => {
    const { stack, template } = synthWebhooks('\n[aftership]\nwebhook_secret_parameter = "/maple/aftership"\n');
    const own = statementsOf(template, stack, WEBHOOKS);
    const putEvents = own.filter((s) => asArray<string>(s.Action).includes('events:PutEvents'));
    expect(putEvents.map((s) => s.Condition.StringEquals['events:source'])).toEqual(['tidings.aftership']);
    const ssm = own.filter((s) => asArray<string>(s.Action).includes('ssm:GetParameter'));
    expect(asArray<any>(ssm[0].Resource).map((r) => r['Fn::Join'][1].at(-1))).toEqual([':parameter/maple/aftership']);
  });

  test('a secret parameter that is not an SSM name is refused at synth', () => {
    expect(() => synthWebhooks('\n[aftership]\nwebhook_secret_parameter = "aftership*"\n')).toThrow(
      /aftership.webhook_secret_parameter "aftership\*" must be an SSM parameter name/,
    );
  });
});

describe('default deployment (none of the three)', () => {
  test('no webhooks function, URL or queue of its own', () => {
    const { stack, template } = synthDefault();
    expect(stack.functions[WEBHOOKS]).toBeUndefined();
    expect(Object.values(resources(template, 'AWS::Lambda::Url'))).toHaveLength(0);
    expect(JSON.stringify(template.toJSON())).not.toContain('tidings.woocommerce');
  });
});

describe('[woocommerce]: the steps create its coupons', () => {
  test('each step may read the REST key parameter, and only it', () => {
    const { stack, template } = synthWebhooks('\n[woocommerce]\nsite_url = "https://maple-moss.example"\nrest_credentials_parameter = "/maple/woo-rest"\n');
    for (const step of STEPS) {
      const ssm = statementsOf(template, stack, step.name).filter((s) => asArray<string>(s.Action).includes('ssm:GetParameter'));
      expect([step.name, ssm.map((s) => asArray<any>(s.Resource).map((r) => r['Fn::Join'][1].at(-1)))]).toEqual([
        step.name,
        [[':parameter/maple/woo-rest']],
      ]);
    }
    const own = statementsOf(template, stack, WEBHOOKS).filter((s) => asArray<string>(s.Action).includes('ssm:GetParameter'));
    expect(asArray<any>(own[0].Resource).map((r) => r['Fn::Join'][1].at(-1))).toEqual([':parameter/tidings/woocommerce/webhook-secret']);
  });
});
