// Alarms and where they go.
import { Template } from 'aws-cdk-lib/assertions';
import { STEPS } from '../lib/routing';
import { TidingsStack } from '../lib/tidings-stack';
import { logicalId, resources, synthDefault } from './helpers';

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
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
        expect(alarms.filter((a) => lambdaMetrics(a).some((m) => m.MetricName === metric && JSON.stringify(m.Dimensions) === dims))).toHaveLength(1);
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

  test("a step's errors alarm also counts its sending warnings (quota nearly used up, mail held up)", () => {
    const filters = Object.values(resources(template, 'AWS::Logs::MetricFilter')).map((f) => f.Properties);
    const quota = filters.filter((f) => JSON.stringify(f.MetricTransformations).includes('SendWarnings'));
    expect(quota).toHaveLength(STEPS.length);
    for (const f of quota) {
      expect(f.FilterPattern).toBe(
        '{ ($.fields.metric = "send_quota_near") || ($.fields.metric = "send_stuck") || ($.fields.metric = "tracking_unregistered") }',
      );
    }
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const summed = alarms.filter((a) =>
      (a.Metrics ?? []).some((m: Metric) => m.MetricStat?.Metric?.MetricName === 'SendWarnings'),
    );
    expect(summed).toHaveLength(STEPS.length);
    for (const a of summed) {
      expect(a.Metrics.find((m: Metric) => m.Expression)?.Expression).toBe('FILL(errors, 0) + FILL(warnings, 0)');
      expect(lambdaMetrics(a).map((m) => m.MetricName)).toEqual(['Errors']);
    }
  });

  test('alarms are emailed to the configured reply-to address by default', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'help@shop.example' });
  });
});

interface Metric {
  Expression?: string;
  MetricStat?: { Metric?: { Namespace?: string; MetricName?: string; Dimensions?: unknown } };
}

/** The AWS/Lambda metrics an alarm watches: its own, or those of its metric math. */
function lambdaMetrics(alarm: {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: unknown;
  Metrics?: Metric[];
}): { MetricName?: string; Dimensions?: unknown }[] {
  if (alarm.Namespace === 'AWS/Lambda') return [{ MetricName: alarm.MetricName, Dimensions: alarm.Dimensions }];
  return (alarm.Metrics ?? [])
    .map((m) => m.MetricStat?.Metric)
    .filter((m) => m?.Namespace === 'AWS/Lambda')
    .map((m) => ({ MetricName: m?.MetricName, Dimensions: m?.Dimensions }));
}
