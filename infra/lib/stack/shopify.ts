// A Shopify store (`[shopify]` in the store configuration): its webhooks arrive on the partner event
// bus of its event source, the shopify function translates them into store events (source
// `tidings.shopify`) on the tidings bus, and the steps read the Admin API credentials to create the
// discount codes their emails carry. The same function mirrors tidings' unsubscribes to the store's
// email marketing consent. Without `[shopify]` none of this exists.
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SHOPIFY_SOURCE, ShopifyConfig, StoreConfig, TIDINGS_SOURCE } from '../config';
import { SHOPIFY, SHOPIFY_DETAIL_TYPE, SHOPIFY_TOPICS } from '../routing';
import { RULE_RETRY, STEP_MEMORY_MB, STEP_TIMEOUT } from '../sizing';
import { grantPutEvents, ruleTo } from './bus';
import { Shared, StackContext } from './context';
import { grantParameters } from './keys';
import { asyncFunction } from './lambda';

/** SHOPIFY_CREDENTIALS_PARAMETER of the functions (infra/functions.json): set before the steps exist. */
export function shopifyEnvironment(ctx: StackContext): void {
  const { shopify } = ctx.props.config;
  if (shopify) ctx.envValues.shopifyCredentialsParameter = shopify.credentialsParameter;
}

/**
 * The `source`s the steps' store-event rules accept: the configuration's, and the translations of
 * Shopify's and the webhook sources' deliveries (each only when configured).
 */
export function storeSources(config: StoreConfig): string[] {
  const translated = [
    ...(config.shopify ? [SHOPIFY_SOURCE] : []),
    ...Object.values(config.webhooks).map((w) => w.eventSource),
  ];
  return translated.length === 0 ? config.sources : [...new Set([...config.sources, ...translated])];
}

/** What the engine announces on its bus when a customer unsubscribes (or complains). */
export const UNSUBSCRIBED_DETAIL_TYPE = 'CustomerUnsubscribed';

/** The shopify function, its rules on the partner event bus and the tidings bus, and what it may do. */
export function createShopify(ctx: StackContext, { buses }: Shared): void {
  const { shopify } = ctx.props.config;
  if (!shopify) return;
  // One webhook in, a few events out: sized like a step.
  const { fn, role } = asyncFunction(ctx, SHOPIFY, {
    memorySize: STEP_MEMORY_MB,
    timeout: STEP_TIMEOUT,
    description: `tidings: Shopify webhooks of ${shopify.shop}, translated into store events; unsubscribes mirrored`,
  });
  grantPutEvents(role, 'ShopifyPutEvents', buses.bus, SHOPIFY_SOURCE);
  grantShopifyCredentials(ctx, role, 'ShopifyCredentials', shopify);

  // Shopify's partner event source comes with its bus, of the same name, in the merchant's account
  // (associated by the merchant, not by this stack): imported, never created or deleted here.
  const partnerBus = events.EventBus.fromEventBusName(ctx.stack, 'ShopifyBus', shopify.eventSource);
  ruleTo(ctx, 'ShopifyWebhooks', fn, RULE_RETRY, {
    eventBus: partnerBus,
    description: `shopify: webhooks of ${shopify.shop} on the topics tidings reads`,
    eventPattern: {
      source: [shopify.eventSource],
      detailType: [SHOPIFY_DETAIL_TYPE],
      detail: { metadata: { 'X-Shopify-Topic': [...SHOPIFY_TOPICS] } },
    },
  });
  // A tidings unsubscribe must stop the store's own marketing emails too: the function sets the
  // Shopify customer's email marketing consent (the credentials above, scope write_customers).
  ruleTo(ctx, 'ShopifyUnsubscribes', fn, RULE_RETRY, {
    eventBus: buses.bus,
    description: `shopify: tidings unsubscribes, mirrored to ${shopify.shop}`,
    eventPattern: { source: [TIDINGS_SOURCE], detailType: [UNSUBSCRIBED_DETAIL_TYPE] },
  });
}

/**
 * `ssm:GetParameter` on the one credentials parameter. The merchant creates it (a secret value must
 * not be in the template) as a SecureString under the AWS-managed key `aws/ssm`, whose key policy
 * already lets principals of the account decrypt through SSM: no KMS grant is needed.
 */
export function grantShopifyCredentials(ctx: StackContext, role: iam.Role, sid: string, shopify: ShopifyConfig): void {
  grantParameters(ctx, role, sid, [shopify.credentialsParameter]);
}
