// The alarm topic (emailed to the merchant), the one queue of failures, and the stack's three alarm
// metrics: that queue's depth and SES's bounce and complaint rates (mail.ts). Every failure that
// needs a person ends up in the queue, each record saying which function or rule it came from, so
// one alarm covers them all; an alarm per function and per queue cost $0.10 a month each.
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
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

/**
 * The queue of failures and needs-a-look records, 14 days, with its alarm:
 * - EventBridge's dead letters of every rule (attributes `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`);
 * - Lambda's on-failure records of every asynchronous function (`requestContext.functionArn`, the
 *   error and the event);
 * - the synchronous endpoints' failures and the engine's warnings, as `AttentionNeeded` events
 *   (`detail.function`, `detail.reason`) routed here by a rule (attentionRule), and the webhooks
 *   function's deliveries it could not translate.
 */
export function createFailures(stack: Stack, alarmTopic: sns.Topic): { failures: sqs.Queue; deadLetters: sqs.IQueue } {
  const failures = new sqs.Queue(stack, 'Failures', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
    enforceSSL: true,
  });
  const reason =
    'This queue is itself the dead-letter queue of the stack (EventBridge targets, Lambda on-failure ' +
    'destinations, the endpoints): it is watched by an alarm and redriven by hand.';
  NagSuppressions.addResourceSuppressions(failures, [
    { id: 'AwsSolutions-SQS3', reason },
    { id: 'Serverless-SQSRedrivePolicy', reason },
  ]);
  const created = new cloudwatch.Alarm(stack, 'FailuresAlarm', {
    alarmDescription:
      'tidings: something failed for good or needs a look (the Failures queue: each record names the ' +
      'function or rule; fix, then redrive or delete it)',
    metric: failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
    threshold: 0,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  created.addAlarmAction(new cwActions.SnsAction(alarmTopic));
  created.addOkAction(new cwActions.SnsAction(alarmTopic));
  // The rules get the queue as an import: CDK would otherwise add a policy statement per rule, and
  // an SQS policy holds at most 20 statements and 8 KB. allowDeadLetters adds one for all of them.
  const deadLetters = sqs.Queue.fromQueueArn(stack, 'FailuresForRules', failures.queueArn);
  return { failures, deadLetters };
}

/** One statement letting EventBridge put dead letters of exactly these rules into the queue. */
export function allowDeadLetters(failures: sqs.Queue, rules: events.IRule[]): void {
  if (rules.length === 0) return;
  failures.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DeadLettersOfTheStacksRules',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [failures.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': rules.map((r) => r.ruleArn) } },
    }),
  );
}
