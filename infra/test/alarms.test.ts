// Alarms and where they go.
import { Template } from 'aws-cdk-lib/assertions';
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
});
