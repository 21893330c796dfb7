// What the functions are called, which events each one's rule routes to it, and what each may do
// on the table: docs/aws.md, "Functions" and "Table". Routing comes from infra/functions.json, which
// a Rust test keeps equal to `tidings_core::event::routing`.
import { join } from 'node:path';
import { loadFunctions } from './functions';

/** A lifecycle step: one function, one rule for store events, one rule for its `FollowUpDue`. */
export interface Step {
  readonly name: string;
  readonly detailTypes: string[];
}

export const SWEEPER = 'follow-up-sweeper';
export const UNSUBSCRIBE = 'unsubscribe';
export const SES_FEEDBACK = 'ses-events';
/** Translates the webhooks of a `[shopify]` store into store events (lib/stack/shopify.ts). */
export const SHOPIFY = 'shopify';
/** Signed webhooks of WooCommerce, AfterShip and EasyPost behind a Function URL (lib/stack/webhooks.ts). */
export const WEBHOOKS = 'webhooks';

/** Routing as infra/functions.json gives it (from Rust's `event::routing`). */
const ROUTED = Object.entries(loadFunctions(join(__dirname, '..', '..'))).filter(([, spec]) => spec.detailTypes);

/** docs/aws.md, "Functions": the steps, each with the store detail types its rule matches. */
export const STEPS: readonly Step[] = ROUTED.filter(([name]) => name !== SES_FEEDBACK).map(([name, spec]) => ({
  name,
  detailTypes: [...(spec.detailTypes ?? [])],
}));
/** The detail-types SES puts on EventBridge (source `aws.ses`), consumed by `ses-events`. */
export const SES_DETAIL_TYPES: readonly string[] = ROUTED.find(([name]) => name === SES_FEEDBACK)?.[1].detailTypes ?? [];
/** The `detail-type` of every webhook Shopify delivers to EventBridge. */
export const SHOPIFY_DETAIL_TYPE = 'shopifyWebhook';
/**
 * The `X-Shopify-Topic`s tidings reads (Rust's `shopify::topics::route`): the rule drops the others,
 * so the app may subscribe to more topics without invoking the function for nothing.
 */
export const SHOPIFY_TOPICS: readonly string[] = [
  'orders/create',
  'orders/paid',
  'orders/updated',
  'orders/cancelled',
  'fulfillments/create',
  'fulfillments/update',
  'fulfillment_events/create',
  'checkouts/create',
  'checkouts/update',
  'checkouts/delete',
  'customers/create',
  'customers/update',
  'customers_email_marketing_consent/update',
  'customers/redact',
  'shop/redact',
  'customers/data_request',
  'products/create',
  'products/update',
];
export const DUE_INDEX = 'due';
/** The metric that counts transactional emails sent once more after SES never reported them. */
export const RECOVERED_SENDS = { namespace: 'tidings', name: 'RecoveredSends' };
export const CUSTOMER_INDEX = 'customer';

/** Table actions of docs/aws.md ("Actions each function needs on the table and its index"). */
export const STEP_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
];

/** The sweeper's table actions: it upgrades a table an earlier release wrote (Scan and moves). */
export const SWEEPER_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Scan',
];
