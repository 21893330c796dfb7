// The alarm topic (emailed to the merchant) and the alarms of the stack.
import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { NagSuppressions } from 'cdk-nag';
import type { TidingsStackProps } from '../tidings-stack';
import { StackContext } from './context';

/** The topic every alarm goes to, with its one email subscription. */
export function createAlarmTopic(stack: Stack, props: TidingsStackProps): sns.Topic {
  const { config } = props;
  const alarmTopic = new sns.Topic(stack, 'AlarmTopic', {
    displayName: `tidings alarms (${config.storeName})`,
    enforceSSL: true,
  });
  const subscription = new sns.Subscription(stack, 'AlarmEmail', {
    topic: alarmTopic,
    protocol: sns.SubscriptionProtocol.EMAIL,
    endpoint: props.alarmEmail ?? config.replyTo,
  });
  NagSuppressions.addResourceSuppressions(subscription, [
    {
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'The only subscriber is the merchant mailbox: an alarm email that cannot be delivered could only be ' +
        'reported by another email, and the alarm itself stays visible in ALARM state in CloudWatch.',
    },
  ]);
  return alarmTopic;
}

/** An alarm (construct id `<id>Alarm`) above `threshold`, notifying the alarm topic of ALARM and OK. */
export function alarm(
  ctx: StackContext,
  id: string,
  props: { alarmDescription: string; metric: cloudwatch.IMetric; threshold: number },
): cloudwatch.Alarm {
  const created = new cloudwatch.Alarm(ctx.stack, `${id}Alarm`, {
    ...props,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  created.addAlarmAction(new cwActions.SnsAction(ctx.alarmTopic));
  created.addOkAction(new cwActions.SnsAction(ctx.alarmTopic));
  return created;
}
