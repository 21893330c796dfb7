// Reads the store configuration: the same TOML file `tidings --config` reads. The stack takes every
// store-specific value (sender, domain, sources, alarm address) from here, so nothing is written twice.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'smol-toml';

export interface StoreConfig {
  /** Absolute path of the file that was read. */
  readonly path: string;
  /** The file, byte for byte: passed to the functions as `STORE_CONFIG`. */
  readonly raw: string;
  /** `sources`: the only `source` values the store-event rules accept. */
  readonly sources: string[];
  /** `sender.from_address`, e.g. `hello@shop.example`. */
  readonly fromAddress: string;
  /** The domain of `fromAddress`: the SES identity. */
  readonly domain: string;
  /** `sender.reply_to`: a monitored mailbox, the default alarm address. */
  readonly replyTo: string;
  /** `sender.unsubscribe_url`: used while the unsubscribe function does not exist. */
  readonly unsubscribeUrl?: string;
  /** `store.name`, used in descriptions only. */
  readonly storeName: string;
  /** `[shopify]`: a Shopify store connected through its partner event source; absent: none. */
  readonly shopify?: ShopifyConfig;
  /** `[woocommerce]`, `[aftership]`, `[easypost]`: the sources of signed webhooks, by name. */
  readonly webhooks: Partial<Record<WebhookSource, WebhookConfig>>;
}

/** The sources the webhooks function takes (its URL's paths; Rust's `webhook::Source`). */
export const WEBHOOK_SOURCES = ['woocommerce', 'aftership', 'easypost'] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/** A webhook source's table (the Rust side parses the same: `config::WooCommerceStore`, `TrackingService`). */
export interface WebhookConfig {
  /** `webhook_secret_parameter`: the SSM parameter (SecureString) of the webhook secret. */
  readonly secretParameter: string;
  /** The other SSM parameters the source names (WooCommerce's REST credentials, a service's API key). */
  readonly otherParameters: string[];
  /** The `source` of the store events translated from its deliveries (`tidings.woocommerce`). */
  readonly eventSource: string;
}

/** Each source's default webhook secret parameter (AfterShip's and EasyPost's must be named). */
const DEFAULT_WEBHOOK_SECRET: Partial<Record<WebhookSource, string>> = {
  woocommerce: '/tidings/woocommerce/webhook-secret',
};
const DEFAULT_WOOCOMMERCE_REST = '/tidings/woocommerce/rest-credentials';

/** `[shopify]` (the Rust side parses the same table: `config::ShopifyStore`). */
export interface ShopifyConfig {
  /** `shop`: `<shop>.myshopify.com`. */
  readonly shop: string;
  /** `event_source`: the partner event source, and the name of its bus in the merchant's account. */
  readonly eventSource: string;
  /** `api_version`: the Admin API version of the webhooks (the functions default it). */
  readonly apiVersion?: string;
  /** `credentials_parameter`: the SSM parameter name (SecureString) of the Admin API credentials. */
  readonly credentialsParameter: string;
}

/** Source of every event tidings itself emits (`FollowUpDue`, `EmailSent`, `CouponIssued`). */
export const TIDINGS_SOURCE = 'tidings';
/** Source of the store events the shopify function translates from Shopify's webhooks. */
export const SHOPIFY_SOURCE = 'tidings.shopify';
/** Every Shopify partner event source starts so (`aws.partner/shopify.com/<app id>/<name>`). */
export const SHOPIFY_PARTNER_PREFIX = 'aws.partner/shopify.com/';
export const DEFAULT_SHOPIFY_CREDENTIALS = '/tidings/shopify/credentials';

// Lambda caps the environment of a function at 4 KB in total (names and values).
const MAX_ENV_BYTES = 4096;

function fail(path: string, message: string): never {
  throw new Error(`${path}: ${message}`);
}

function table(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function requiredString(path: string, section: Record<string, unknown> | undefined, key: string, where: string): string {
  const value = section?.[key];
  if (typeof value !== 'string' || value.trim() === '') {
    fail(path, `${where}.${key} must be a non-empty string`);
  }
  return value;
}

const EMAIL = /^[^@\s]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$/;
// As the Rust side checks it: one label of letters, digits and hyphens, then .myshopify.com.
const SHOP = /^[A-Za-z0-9-]+\.myshopify\.com$/;
// SSM's own alphabet for parameter names: it also keeps `*` and `?` (IAM wildcards) out of the
// one ARN the functions are granted.
const PARAMETER_NAME = /^\/[A-Za-z0-9_.\-/]+$/;

function parameterName(path: string, section: Record<string, unknown>, key: string, where: string, fallback?: string): string {
  const name = section[key] === undefined && fallback !== undefined ? fallback : requiredString(path, section, key, where);
  if (!PARAMETER_NAME.test(name)) fail(path, `${where}.${key} "${name}" must be an SSM parameter name starting with /`);
  return name;
}

function parseWebhooks(path: string, doc: Record<string, unknown>): Partial<Record<WebhookSource, WebhookConfig>> {
  const webhooks: Partial<Record<WebhookSource, WebhookConfig>> = {};
  for (const source of WEBHOOK_SOURCES) {
    if (doc[source] === undefined) continue;
    const section = table(doc[source]);
    if (!section) fail(path, `${source} must be a table ([${source}])`);
    const secretParameter = parameterName(path, section, 'webhook_secret_parameter', source, DEFAULT_WEBHOOK_SECRET[source]);
    const otherParameters =
      source === 'woocommerce'
        ? [parameterName(path, section, 'rest_credentials_parameter', source, DEFAULT_WOOCOMMERCE_REST)]
        : section.api_key_parameter === undefined
          ? []
          : [parameterName(path, section, 'api_key_parameter', source)];
    webhooks[source] = { secretParameter, otherParameters, eventSource: `tidings.${source}` };
  }
  return webhooks;
}

function parseShopify(path: string, shopify: Record<string, unknown>): ShopifyConfig {
  const shop = requiredString(path, shopify, 'shop', 'shopify');
  if (!SHOP.test(shop)) fail(path, `shopify.shop "${shop}" must be <shop>.myshopify.com`);
  // Optional for the CLI (replay), required here: the stack's rule is on the bus of that source.
  if (shopify.event_source === undefined) {
    fail(path, 'shopify.event_source is missing: the stack routes the events of that partner event source');
  }
  const eventSource = requiredString(path, shopify, 'event_source', 'shopify');
  if (!eventSource.startsWith(SHOPIFY_PARTNER_PREFIX) || eventSource.length === SHOPIFY_PARTNER_PREFIX.length) {
    fail(path, `shopify.event_source "${eventSource}" must be a partner event source (${SHOPIFY_PARTNER_PREFIX}...)`);
  }
  const apiVersion = shopify.api_version === undefined ? undefined : requiredString(path, shopify, 'api_version', 'shopify');
  const credentialsParameter =
    shopify.credentials_parameter === undefined
      ? DEFAULT_SHOPIFY_CREDENTIALS
      : requiredString(path, shopify, 'credentials_parameter', 'shopify');
  if (!PARAMETER_NAME.test(credentialsParameter)) {
    fail(path, `shopify.credentials_parameter "${credentialsParameter}" must be an SSM parameter name starting with /`);
  }
  return { shop, eventSource, apiVersion, credentialsParameter };
}

export function parseStoreConfig(raw: string, path = '<inline>'): StoreConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(raw) as Record<string, unknown>;
  } catch (e) {
    fail(path, `not valid TOML: ${(e as Error).message}`);
  }

  const sources = doc.sources;
  if (!Array.isArray(sources) || sources.length === 0 || !sources.every((s) => typeof s === 'string' && s !== '')) {
    fail(path, 'sources must be a non-empty array of strings');
  }
  if (sources.includes(TIDINGS_SOURCE)) {
    // The functions emit events with this source on the same bus: accepting it as a store source
    // would feed tidings' own events back into the steps.
    fail(path, `sources must not contain "${TIDINGS_SOURCE}" (the source of the events tidings emits)`);
  }

  const store = table(doc.store);
  const sender = table(doc.sender);
  if (!sender) fail(path, '[sender] is missing');
  const fromAddress = requiredString(path, sender, 'from_address', 'sender');
  const match = EMAIL.exec(fromAddress);
  if (!match) fail(path, `sender.from_address "${fromAddress}" is not a plain address (name@domain)`);
  const replyTo = requiredString(path, sender, 'reply_to', 'sender');
  if (!EMAIL.test(replyTo)) fail(path, `sender.reply_to "${replyTo}" is not a plain address (name@domain)`);
  const unsubscribeUrl = typeof sender.unsubscribe_url === 'string' ? sender.unsubscribe_url : undefined;
  let shopify: ShopifyConfig | undefined;
  if (doc.shopify !== undefined) {
    const section = table(doc.shopify);
    if (!section) fail(path, 'shopify must be a table ([shopify])');
    shopify = parseShopify(path, section);
  }

  return {
    path,
    raw,
    sources: sources as string[],
    fromAddress,
    domain: match[1].toLowerCase(),
    replyTo,
    unsubscribeUrl,
    storeName: typeof store?.name === 'string' ? store.name : 'tidings',
    shopify,
    webhooks: parseWebhooks(path, doc),
  };
}

export function loadStoreConfig(path: string): StoreConfig {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the store configuration ${path}: ${(e as Error).message}`);
  }
  return parseStoreConfig(raw, path);
}

/**
 * The value of `STORE_CONFIG`: the file as it is when the environment fits Lambda's 4 KB limit
 * (`otherEnvBytes` = the size of the other variables), else the same document re-serialised without
 * comments and blank lines (same values, so the functions read the same configuration).
 */
export function storeConfigEnvValue(config: StoreConfig, otherEnvBytes: number): string {
  const budget = MAX_ENV_BYTES - otherEnvBytes - 'STORE_CONFIG'.length;
  if (Buffer.byteLength(config.raw, 'utf8') <= budget) {
    return config.raw;
  }
  const compact = stringify(parse(config.raw));
  if (Buffer.byteLength(compact, 'utf8') <= budget) {
    return compact;
  }
  throw new Error(
    `${config.path}: the configuration is ${Buffer.byteLength(compact, 'utf8')} bytes without comments, ` +
      `more than the ${budget} bytes left in Lambda's 4 KB environment`,
  );
}
