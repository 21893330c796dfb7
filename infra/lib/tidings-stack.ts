// The whole of tidings in one stack: the contract is docs/aws.md (function names, environment,
// table design, event routing, IAM). Store-specific values come from the store configuration TOML;
// each function's environment comes from infra/functions.json (see lib/functions.ts).
//
// This is the composition root; the parts are under lib/stack/. They create every resource with this
// stack as its scope and under the construct id it always had (no intermediate constructs), so the
// logical ids of deployed stacks, whose table is retained, do not change. The order
// below is the order the resources were always created in.
import { CfnOutput, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { StoreConfig } from './config';
import { loadFunctions } from './functions';
import { allowDeadLetters, createAlarmTopic, createFailures } from './stack/alarms';
import { attentionRule, createBuses } from './stack/bus';
import { Shared, StackContext } from './stack/context';
import { createUnsubscribe } from './stack/endpoints';
import { createKeys, Keys } from './stack/keys';
import { createMail, forwardSesEvents, sesReputationAlarms } from './stack/mail';
import { createShopify, shopifyEnvironment } from './stack/shopify';
import { createSesFeedback, createSteps } from './stack/steps';
import { createAlarmGroup, createAlarmSetter } from './stack/follow-ups';
import { createTable } from './stack/table';
import { createWebhooks } from './stack/webhooks';

export * from './routing';

export interface TidingsStackProps extends StackProps {
  /** The parsed store configuration (see lib/config.ts). */
  readonly config: StoreConfig;
  /** The repository root (holds the Cargo workspace and `functions/`). */
  readonly repoRoot: string;
  /** Use the account's default event bus instead of a custom one. @default false */
  readonly useDefaultBus?: boolean;
  /** Where alarms are emailed. @default the configuration's `sender.reply_to` */
  readonly alarmEmail?: string;
  /**
   * Create the SES domain identity (Easy DKIM). Set to false when the domain is already a verified
   * identity in this account and region (CloudFormation cannot adopt it). @default true
   */
  readonly createSesIdentity?: boolean;
  /** Deploy the unsubscribe function and its Function URL. @default `functions/unsubscribe` exists */
  readonly unsubscribeFunction?: boolean;
  /**
   * Reserved concurrency of the webhooks function (a public endpoint). 0 leaves it unreserved, as
   * accounts whose concurrency quota is 10 require. @default 5
   */
  readonly webhooksReservedConcurrency?: number;
}

export class TidingsStack extends Stack {
  public readonly table: dynamodb.Table;
  public readonly bus: events.IEventBus;
  /** The HMAC keys' SSM parameters (lib/stack/keys.ts). */
  public readonly keys: Keys;
  public readonly alarmTopic: sns.Topic;
  public readonly functions: Record<string, lambda.Function> = {};
  /** The one queue of failures (lib/stack/alarms.ts). */
  public readonly failures: sqs.Queue;

  constructor(scope: Construct, id: string, props: TidingsStackProps) {
    super(scope, id, props);
    Tags.of(this).add('app', 'tidings');

    // Alarms go here (lib/stack/alarms.ts).
    this.alarmTopic = createAlarmTopic(this, props);
    const { failures, deadLetters } = createFailures(this, this.alarmTopic);
    this.failures = failures;
    const ctx: StackContext = {
      stack: this,
      props,
      specs: loadFunctions(props.repoRoot),
      envValues: { logLevel: 'info', deadLetterQueueUrl: failures.queueUrl },
      alarmTopic: this.alarmTopic,
      functions: this.functions,
      failures,
      deadLetters,
      rules: [],
    };

    const table = createTable(ctx); // docs/aws.md, "Table"
    const buses = createBuses(ctx);
    const mail = createMail(ctx, buses.defaultBus); // SES identity and configuration sets
    const keys = createKeys(ctx); // signing key and guest-id key
    this.table = table.table;
    this.bus = buses.bus;
    this.keys = keys;
    const alarms = createAlarmGroup(ctx, buses); // follow-ups' schedules (lib/stack/follow-ups.ts)
    const shared: Shared = { table, buses, mail, keys, alarms };

    // Before the steps: its URL is in their environment.
    createUnsubscribe(ctx, shared);
    // Before the steps too: the Shopify credentials parameter is in their environment.
    shopifyEnvironment(ctx);
    createSteps(ctx, shared);
    createSesFeedback(ctx, shared);
    createAlarmSetter(ctx, shared);
    // SES events onto the store bus (SES delivers them to the default bus only).
    if (!props.useDefaultBus) forwardSesEvents(ctx, buses, mail);
    sesReputationAlarms(ctx);
    attentionRule(ctx, buses.bus);
    // Only with [shopify]: after everything that always existed, which it leaves as it was.
    createShopify(ctx, shared);
    // Only with [woocommerce], [aftership] or [easypost]: after everything else, for the same reason.
    createWebhooks(ctx, shared);
    // Last: one statement for the dead letters of every rule above.
    allowDeadLetters(failures, ctx.rules);

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: this.bus.eventBusArn });
    new CfnOutput(this, 'ConfigurationSetTransactional', { value: mail.transactional.configurationSetName });
    new CfnOutput(this, 'ConfigurationSetMarketing', { value: mail.marketing.configurationSetName });
    new CfnOutput(this, 'SigningKeyParameter', { value: keys.signingKeyParameter });
    new CfnOutput(this, 'GuestIdKeyParameter', { value: keys.guestIdKeyParameter });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'FailuresQueueUrl', { value: failures.queueUrl });
    new CfnOutput(this, 'FollowUpAlarmGroupName', { value: alarms.groupName });
  }
}
