// Alarms, the one failures queue they watch, and where they go.
import { Template } from 'aws-cdk-lib/assertions';
import { TidingsStack } from '../lib/tidings-stack';
import { WEBHOOK_TABLES, logicalId, resources, shopifyTable, synthDefault, synthSample } from './helpers';

/** Every alarm metric of a template: an alarm's own, or each metric of its metric math. */
function alarmMetrics(template: Template): { Namespace?: string; MetricName?: string }[] {
  return Object.values(resources(template, 'AWS::CloudWatch::Alarm')).flatMap((a) => {
    const p = a.Properties;
    if (p.MetricName) return [{ Namespace: p.Namespace, MetricName: p.MetricName }];
    return (p.Metrics ?? []).filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
  });
}

describe.each([
  ['the default deployment', () => synthDefault()],
  [
    'with every integration (Shopify, WooCommerce, AfterShip, EasyPost) and the unsubscribe function',
    () => synthSample(shopifyTable() + WEBHOOK_TABLES, { unsubscribe: 'true' }),
  ],
])('%s', (_name, build) => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = build());
  });

  test('three alarm metrics in all: the failures queue, SES bounce and complaint rates', () => {
    const failures = { 'Fn::GetAtt': [logicalId(stack, stack.failures), 'QueueName'] };
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms).toHaveLength(3);
    expect(alarmMetrics(template)).toHaveLength(3);
    const topic = { Ref: logicalId(stack, stack.alarmTopic) };
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([topic]);
      expect(a.OKActions).toEqual([topic]);
      expect(a.ComparisonOperator).toBe('GreaterThanThreshold');
    }
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Threshold: 0,
          Dimensions: [{ Name: 'QueueName', Value: failures }],
        }),
        expect.objectContaining({ Namespace: 'AWS/SES', MetricName: 'Reputation.BounceRate', Threshold: 0.05 }),
        expect.objectContaining({ Namespace: 'AWS/SES', MetricName: 'Reputation.ComplaintRate', Threshold: 0.001 }),
      ]),
    );
  });

  test('one queue: every rule dead-letters into it and every asynchronous function fails into it', () => {
    const queues = resources(template, 'AWS::SQS::Queue');
    expect(Object.keys(queues)).toEqual([logicalId(stack, stack.failures)]);
    const arn = { 'Fn::GetAtt': [logicalId(stack, stack.failures), 'Arn'] };
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    for (const rule of rules) {
      for (const target of rule.Properties.Targets) expect(target.DeadLetterConfig).toEqual({ Arn: arn });
    }
    const configs = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig'));
    expect(configs.length).toBeGreaterThan(0);
    for (const c of configs) expect(c.Properties.DestinationConfig.OnFailure.Destination).toEqual(arn);
    // Each function's role may send to it (the on-failure destination is the function's own call).
    // EventBridge may, for exactly the stack's rules, in one statement (an SQS policy holds 20).
    const policies = Object.values(resources(template, 'AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(1);
    const statements = policies[0].Properties.PolicyDocument.Statement;
    const fromRules = statements.filter((s: any) => s.Principal?.Service === 'events.amazonaws.com');
    expect(fromRules).toHaveLength(1);
    expect(fromRules[0].Action).toBe('sqs:SendMessage');
    expect(fromRules[0].Resource).toEqual(arn);
    const sources = fromRules[0].Condition.ArnEquals['aws:SourceArn'];
    expect(sources.map((s: any) => s['Fn::GetAtt'][0]).sort()).toEqual(Object.keys(resources(template, 'AWS::Events::Rule')).sort());
    expect(statements.length).toBeLessThanOrEqual(3);
    expect(JSON.stringify(policies[0].Properties.PolicyDocument).length).toBeLessThan(8192);
  });

  test('AttentionNeeded announcements go into the queue', () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    const attention = rules.filter((r) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('AttentionNeeded'));
    expect(attention).toHaveLength(1);
    expect(attention[0].Properties.EventPattern).toEqual({ source: ['tidings'], 'detail-type': ['AttentionNeeded'] });
    expect(attention[0].Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [logicalId(stack, stack.failures), 'Arn'] } }),
    ]);
  });

  test('encrypted, 14 days, TLS only, and its URL is an output', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    const policy = Object.values(resources(template, 'AWS::SQS::QueuePolicy'))[0].Properties.PolicyDocument;
    expect(policy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    );
    template.hasOutput('FailuresQueueUrl', {});
  });
});

test('alarms are emailed to the configured reply-to address by default', () => {
  const { template } = synthDefault();
  template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'help@shop.example' });
});
