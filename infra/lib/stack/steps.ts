// The event-driven functions: the lifecycle steps and their rules, ses-events (SES feedback) and the
// sweeper that emits the due follow-ups.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import { TIDINGS_SOURCE } from '../config';
import {
  RECOVERED_SENDS,
  SES_DETAIL_TYPES,
  SES_FEEDBACK,
  STEPS,
  STEP_TABLE_ACTIONS,
  SWEEPER,
  SWEEPER_TABLE_ACTIONS,
} from '../routing';
import {
  RULE_RETRY,
  SCHEDULE_RETRY,
  STEP_MEMORY_MB,
  STEP_TIMEOUT,
  SWEEPER_MEMORY_MB,
  SWEEPER_TIMEOUT,
} from '../sizing';
import { grantPutEvents, ruleTo } from './bus';
import { Shared, StackContext } from './context';
import { grantGuestIdKey, grantParameters, grantSigningKey } from './keys';
import { asyncFunction, pascal } from './lambda';
import { grantSendAsTheStore } from './mail';
import { grantShopifyCredentials, storeSources } from './shopify';
import { grantTable } from './table';

/** One function per step, with a rule for its store events and one for its FollowUpDue. */
export function createSteps(ctx: StackContext, { table, buses, mail, keys }: Shared): void {
  const { config } = ctx.props;
  for (const step of STEPS) {
    const { fn, role } = asyncFunction(ctx, step.name, {
      memorySize: STEP_MEMORY_MB,
      timeout: STEP_TIMEOUT,
      description: `tidings step ${step.name}: ${step.detailTypes.join(', ')}, FollowUpDue`,
    });
    const id = pascal(step.name);
    // The one place a duplicate email is possible (a transactional send SES never reported,
    // sent once more): counted as a metric, from the step's own log line. No alarm of its own.
    new logs.MetricFilter(ctx.stack, `${id}RecoveredSends`, {
      logGroup: fn.logGroup,
      metricNamespace: RECOVERED_SENDS.namespace,
      metricName: RECOVERED_SENDS.name,
      filterPattern: logs.FilterPattern.stringValue('$.fields.metric', '=', 'recovered_send'),
      metricValue: '1',
    });
    grantTable(role, `${id}Table`, [table.table.tableArn, table.indexArn, table.customerIndexArn], STEP_TABLE_ACTIONS);
    grantPutEvents(role, `${id}PutEvents`, buses.bus);
    grantSigningKey(role, `${id}SigningKey`, keys);
    grantSendAsTheStore(role, mail, config);
    // A Shopify store's discount codes are created through its Admin API before the email goes out.
    if (config.shopify) grantShopifyCredentials(ctx, role, `${id}ShopifyCredentials`, config.shopify);
    // A WooCommerce store's coupons likewise, through its REST API with the key in SSM; and the
    // tracking services' API keys, with which order-shipped registers each parcel.
    const apiKeys = Object.values(config.webhooks).flatMap((w) => w.otherParameters);
    if (apiKeys.length > 0) grantParameters(ctx, role, `${id}ApiKeys`, apiKeys);

    const sources = storeSources(config);
    ruleTo(ctx, `${id}StoreEvents`, fn, RULE_RETRY, {
      eventBus: buses.bus,
      description: `${step.name}: store events from ${sources.join(', ')}`,
      eventPattern: { source: sources, detailType: step.detailTypes },
    });
    ruleTo(ctx, `${id}FollowUps`, fn, RULE_RETRY, {
      eventBus: buses.bus,
      description: `${step.name}: FollowUpDue events for this step`,
      eventPattern: { source: [TIDINGS_SOURCE], detailType: ['FollowUpDue'], detail: { step: [step.name] } },
    });
  }
}

export function createSesFeedback(ctx: StackContext, { table, buses, keys }: Shared): void {
  // SES's report of each accepted message settles its claim and is announced as EmailSent;
  // bounces and complaints suppress the address, opens and clicks are counted: no sending, no key.
  // It still gets the configuration-set names (infra/functions.json): a step sending with a set
  // leaves EmailSent to SES's report, and ses-events announces from it only if it knows the same
  // sets (SesMailer::reports_sends). Names only: no SES permission.
  const sesEvents = asyncFunction(ctx, SES_FEEDBACK, {
    memorySize: STEP_MEMORY_MB,
    timeout: STEP_TIMEOUT,
    description: 'tidings: SES sends, bounces, complaints, deliveries, opens and clicks',
  });
  grantTable(sesEvents.role, 'SesEventsTable', [table.table.tableArn, table.customerIndexArn], STEP_TABLE_ACTIONS);
  grantPutEvents(sesEvents.role, 'SesEventsPutEvents', buses.bus);
  grantGuestIdKey(sesEvents.role, 'SesEventsGuestIdKey', keys);
  ruleTo(ctx, 'SesEventsFeedback', sesEvents.fn, RULE_RETRY, {
    eventBus: buses.bus,
    description: 'ses-events: SES configuration-set events',
    eventPattern: { source: ['aws.ses'], detailType: [...SES_DETAIL_TYPES] },
  });
}

export function createSweeper(ctx: StackContext, { table, buses, keys }: Shared): void {
  // The only reserved concurrency: one sweep at a time. Overlapping sweeps would emit the same
  // FollowUpDue twice and release bursts of sends into SES's per-second rate.
  const reserved = ctx.props.sweeperReservedConcurrency ?? 1;
  const sweeper = asyncFunction(ctx, SWEEPER, {
    // A sweep that could not run within a few minutes is superseded by the next ones.
    maxEventAge: Duration.minutes(5),
    memorySize: SWEEPER_MEMORY_MB,
    timeout: SWEEPER_TIMEOUT,
    description: 'tidings: emits one FollowUpDue per due follow-up, every minute',
    reservedConcurrentExecutions: reserved > 0 ? reserved : undefined,
  });
  grantTable(sweeper.role, 'SweeperIndex', [table.indexArn], ['dynamodb:Query']);
  grantTable(sweeper.role, 'SweeperUpgrade', [table.table.tableArn], SWEEPER_TABLE_ACTIONS);
  grantGuestIdKey(sweeper.role, 'SweeperGuestIdKey', keys);
  grantPutEvents(sweeper.role, 'SweeperPutEvents', buses.bus);
  // Scheduled rules always live on the default bus.
  ruleTo(ctx, 'SweeperSchedule', sweeper.fn, SCHEDULE_RETRY, {
    description: 'follow-up-sweeper: every minute',
    schedule: events.Schedule.rate(Duration.minutes(1)),
  });
}
