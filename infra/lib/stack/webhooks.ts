// Signed webhooks (`[woocommerce]`, `[aftership]`, `[easypost]` in the store configuration): one
// function behind a public Function URL, a path per source. It verifies each delivery's signature
// with the source's secret (an SSM SecureString the merchant creates), translates it into store
// events (source `tidings.<source>`) on the tidings bus, and keeps what it cannot translate in its
// the failures queue, answering 200 (WooCommerce retries nothing and disables a webhook after 5
// failed deliveries). Without any of the three sections none of this exists.
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { WEBHOOK_SOURCES } from '../config';
import { WEBHOOKS } from '../routing';
import { STEP_MEMORY_MB } from '../sizing';
import { Shared, StackContext } from './context';
import { grantParameters } from './keys';
import { rustFunction } from './lambda';

/** A delivery is answered within WooCommerce's and the services' timeouts (WooCommerce waits 60 s). */
export const WEBHOOKS_TIMEOUT = Duration.seconds(10);

/** The webhooks function, its URL, its dead-letter queue, and what it may do. */
export function createWebhooks(ctx: StackContext, { buses }: Shared): void {
  const { stack, props } = ctx;
  const sources = WEBHOOK_SOURCES.filter((s) => props.config.webhooks[s]);
  if (sources.length === 0) return;
  // WooCommerce retries no delivery that was throttled (429), so room for bursts.
  const reserved = props.webhooksReservedConcurrency ?? 5;
  const { fn, role } = rustFunction(ctx, WEBHOOKS, {
    memorySize: STEP_MEMORY_MB,
    timeout: WEBHOOKS_TIMEOUT,
    description: `tidings: signed webhooks of ${sources.join(', ')}, verified and translated into store events`,
    invokedAsynchronously: false,
    // A public endpoint: a flood of requests must not take the account's concurrency from the
    // steps. 0 leaves it unreserved (accounts whose quota is 10 refuse any reservation).
    reservedConcurrentExecutions: reserved > 0 ? reserved : undefined,
  });
  ctx.failures.grantSendMessages(role);
  for (const source of sources) {
    const webhook = props.config.webhooks[source]!;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `Webhooks${source[0].toUpperCase()}${source.slice(1)}PutEvents`,
        actions: ['events:PutEvents'],
        resources: [buses.bus.eventBusArn],
        conditions: { StringEquals: { 'events:source': webhook.eventSource } },
      }),
    );
  }
  // The webhook secrets only: the REST and API keys are for the functions that call those APIs.
  grantParameters(ctx, role, 'WebhookSecrets', sources.map((s) => props.config.webhooks[s]!.secretParameter));
  // Auth NONE on purpose: WooCommerce, AfterShip and EasyPost sign their deliveries and cannot
  // sign AWS requests; the function refuses every delivery whose signature does not verify.
  const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  new CfnOutput(stack, 'WebhooksUrl', {
    description: `The webhooks Function URL: deliver to ${sources.map((s) => `<url>${s}`).join(', ')}`,
    value: url.url,
  });
}
