// The event buses, the rules that deliver to the functions, and the right to put events.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { TIDINGS_SOURCE } from '../config';
import { StackContext } from './context';

export interface Buses {
  /** The account's default bus: SES events and scheduled rules. */
  readonly defaultBus: events.IEventBus;
  /** The bus of the store and tidings events (the default bus with `useDefaultBus`). */
  readonly bus: events.IEventBus;
}

export function createBuses(ctx: StackContext): Buses {
  const { stack, props } = ctx;
  // SES can deliver configuration-set events only to the default bus (CDK and SES both refuse a
  // custom one). The store and tidings use the custom bus; a rule forwards SES events to it.
  const defaultBus = events.EventBus.fromEventBusName(stack, 'DefaultBus', 'default');
  const bus = props.useDefaultBus
    ? defaultBus
    : new events.EventBus(stack, 'Bus', { description: `tidings: ${props.config.storeName} store events` });
  ctx.envValues.eventBusName = bus.eventBusName;
  return { defaultBus, bus };
}

/** A rule delivering to `fn`, with the retry policy `retry` and the dead-letter queue `dlq`. */
export function ruleTo(
  ctx: StackContext,
  id: string,
  fn: lambda.IFunction,
  dlq: sqs.IQueue,
  retry: { maxEventAge: Duration; retryAttempts: number },
  ruleProps: events.RuleProps,
): events.Rule {
  const rule = new events.Rule(ctx.stack, id, ruleProps);
  rule.addTarget(new targets.LambdaFunction(fn, { deadLetterQueue: dlq, ...retry }));
  return rule;
}

/**
 * PutEvents on `bus` with the one `source` the function emits: `tidings` for its own events
 * (EmailSent, CouponIssued, FollowUpDue); the shopify function's translated store events have theirs.
 */
export function grantPutEvents(role: iam.Role, sid: string, bus: events.IEventBus, source: string = TIDINGS_SOURCE): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid,
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: { StringEquals: { 'events:source': source } },
    }),
  );
}
