// The event buses, the rules that deliver to the functions, and the right to put events.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TIDINGS_SOURCE } from '../config';
import { RULE_RETRY } from '../sizing';
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

/** A rule delivering to `fn`, with the retry policy `retry`, dead-lettering into the failures queue. */
export function ruleTo(
  ctx: StackContext,
  id: string,
  fn: lambda.IFunction,
  retry: { maxEventAge: Duration; retryAttempts: number },
  ruleProps: events.RuleProps,
): events.Rule {
  const rule = new events.Rule(ctx.stack, id, ruleProps);
  rule.addTarget(new targets.LambdaFunction(fn, { deadLetterQueue: ctx.deadLetters, ...retry }));
  ctx.rules.push(rule);
  return rule;
}

/**
 * `AttentionNeeded` (docs/spec/events.md), which a function announces when something needs a
 * person but no invocation failed (mail SES has not taken for an hour, the daily quota nearly used
 * up, a parcel not registered with its tracking service, an endpoint's failed request): into the
 * failures queue, whose alarm says so.
 */
export function attentionRule(ctx: StackContext, bus: events.IEventBus): void {
  const rule = new events.Rule(ctx.stack, 'AttentionToFailures', {
    eventBus: bus,
    description: 'AttentionNeeded announcements into the failures queue (its alarm)',
    eventPattern: { source: [TIDINGS_SOURCE], detailType: [ATTENTION_DETAIL_TYPE] },
  });
  rule.addTarget(new targets.SqsQueue(ctx.deadLetters, { deadLetterQueue: ctx.deadLetters, ...RULE_RETRY }));
  ctx.rules.push(rule);
}

/** The detail-type of the engine's needs-a-look announcements. */
export const ATTENTION_DETAIL_TYPE = 'AttentionNeeded';

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
