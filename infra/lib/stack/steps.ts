// The event-driven functions: the lifecycle steps and their rules, and ses-events (SES feedback).
import * as logs from 'aws-cdk-lib/aws-logs';
import { TIDINGS_SOURCE } from '../config';
import {
  RECOVERED_SENDS,
  SES_DETAIL_TYPES,
  SES_FEEDBACK,
  STEPS,
  STEP_TABLE_ACTIONS,
} from '../routing';
import { RULE_RETRY, STEP_MEMORY_MB, STEP_TIMEOUT } from '../sizing';
import { grantPutEvents, ruleTo } from './bus';
import { grantAlarms } from './follow-ups';
import { Shared, StackContext } from './context';
import { grantGuestIdKey, grantParameters, grantSigningKey } from './keys';
import { asyncFunction, pascal } from './lambda';
import { grantSendAsTheStore } from './mail';
import { grantShopifyCredentials, storeSources } from './shopify';
import { grantTable } from './table';

/** One function per step, with a rule for its store events and one for its FollowUpDue. */
export function createSteps(ctx: StackContext, { table, buses, mail, keys, alarms }: Shared): void {
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
    grantAlarms(role, `${id}Alarms`, alarms);
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

export function createSesFeedback(ctx: StackContext, { table, buses, keys, alarms }: Shared): void {
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
  grantAlarms(sesEvents.role, 'SesEventsAlarms', alarms);
  ruleTo(ctx, 'SesEventsFeedback', sesEvents.fn, RULE_RETRY, {
    eventBus: buses.bus,
    description: 'ses-events: SES configuration-set events',
    eventPattern: { source: ['aws.ses'], detailType: [...SES_DETAIL_TYPES] },
  });
}
