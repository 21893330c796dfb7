// The whole of tidings in one stack: the contract is docs/aws.md (function names, environment,
// table design, event routing, IAM). Store-specific values come from the store configuration TOML;
// each function's environment comes from infra/functions.json (see lib/functions.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  StackProps,
  Tags,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { StoreConfig, TIDINGS_SOURCE, storeConfigEnvValue } from './config';
import { EnvSource, FunctionSpec, environmentOf, loadFunctions } from './functions';
import {
  CUSTOMER_INDEX,
  DUE_INDEX,
  RECOVERED_SENDS,
  SES_DETAIL_TYPES,
  SES_FEEDBACK,
  STEPS,
  STEP_TABLE_ACTIONS,
  SWEEPER,
  SWEEPER_TABLE_ACTIONS,
  UNSUBSCRIBE,
} from './routing';
import {
  ASYNC_MAX_EVENT_AGE,
  ASYNC_RETRY_ATTEMPTS,
  LOG_RETENTION,
  RULE_RETRY,
  SCHEDULE_RETRY,
  STEP_MEMORY_MB,
  STEP_TIMEOUT,
  SWEEPER_MEMORY_MB,
  SWEEPER_TIMEOUT,
} from './sizing';

export * from './routing';

/** SES v2 event types forwarded to the bus from both configuration sets. */
const SES_EVENTS = [
  ses.EmailSendingEvent.SEND,
  ses.EmailSendingEvent.REJECT,
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.DELIVERY_DELAY,
  ses.EmailSendingEvent.OPEN,
  ses.EmailSendingEvent.CLICK,
  ses.EmailSendingEvent.SUBSCRIPTION,
];


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
   * Reserved concurrency of the sweeper (one sweep at a time, so due follow-ups are not emitted twice
   * in parallel and SES sees no burst). 0 leaves it unreserved — needed on new accounts whose
   * concurrency quota is 10, where any reservation is refused. @default 1
   */
  readonly sweeperReservedConcurrency?: number;
}

interface BuiltFunction {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly dlq?: sqs.Queue;
}

export class TidingsStack extends Stack {
  public readonly table: dynamodb.Table;
  public readonly bus: events.IEventBus;
  public readonly signingKey: secretsmanager.Secret;
  public readonly guestIdKey: secretsmanager.Secret;
  public readonly alarmTopic: sns.Topic;
  public readonly functions: Record<string, lambda.Function> = {};
  public readonly deadLetterQueues: sqs.Queue[] = [];

  private readonly props: TidingsStackProps;
  /** infra/functions.json. */
  private readonly specs: Record<string, FunctionSpec>;
  /** What each symbolic value of infra/functions.json stands for, filled in as the constructs exist. */
  private readonly envValues: Partial<Record<EnvSource, string>> = { logLevel: 'info' };

  constructor(scope: Construct, id: string, props: TidingsStackProps) {
    super(scope, id, props);
    this.props = props;
    this.specs = loadFunctions(props.repoRoot);
    const { config } = props;
    Tags.of(this).add('app', 'tidings');

    // ---------------------------------------------------------------- alarms go here
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `tidings alarms (${config.storeName})`,
      enforceSSL: true,
    });
    const subscription = new sns.Subscription(this, 'AlarmEmail', {
      topic: this.alarmTopic,
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

    // ---------------------------------------------------------------- table (docs/aws.md, "Table")
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'ttl',
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: DUE_INDEX,
      partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // Follow-ups of one customer: an unsubscribe cancels them, an erasure deletes them.
    this.table.addGlobalSecondaryIndex({
      indexName: CUSTOMER_INDEX,
      partitionKey: { name: 'gsi2pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi2sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    this.envValues.tableName = this.table.tableName;
    const indexArn = `${this.table.tableArn}/index/${DUE_INDEX}`;
    const customerIndexArn = `${this.table.tableArn}/index/${CUSTOMER_INDEX}`;

    // ---------------------------------------------------------------- buses
    // SES can deliver configuration-set events only to the default bus (CDK and SES both refuse a
    // custom one). The store and tidings use the custom bus; a rule forwards SES events to it.
    const defaultBus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.bus = props.useDefaultBus
      ? defaultBus
      : new events.EventBus(this, 'Bus', { description: `tidings: ${config.storeName} store events` });
    this.envValues.eventBusName = this.bus.eventBusName;

    // ---------------------------------------------------------------- SES
    const identityArn = this.formatArn({ service: 'ses', resource: 'identity', resourceName: config.domain });
    // If the from address itself is also a verified identity, SES authorises against it instead.
    const addressIdentityArn = this.formatArn({
      service: 'ses',
      resource: 'identity',
      resourceName: config.fromAddress,
    });
    if (props.createSesIdentity ?? true) {
      const identity = new ses.EmailIdentity(this, 'Identity', {
        identity: ses.Identity.domain(config.domain), // Easy DKIM (RSA 2048) by default
      });
      identity.dkimRecords.forEach((record, i) => {
        new CfnOutput(this, `DkimRecord${i + 1}`, {
          description: `DNS CNAME to publish for Easy DKIM of ${config.domain}`,
          value: `${record.name} CNAME ${record.value}`,
        });
      });
    }
    const transactional = this.configurationSet('Transactional', 'transactional', defaultBus);
    const marketing = this.configurationSet('Marketing', 'marketing', defaultBus);
    this.envValues['configurationSet:transactional'] = transactional.configurationSetName;
    this.envValues['configurationSet:marketing'] = marketing.configurationSetName;
    const configurationSetArns = [transactional, marketing].map((c) =>
      this.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: c.configurationSetName }),
    );

    // ---------------------------------------------------------------- signing key
    this.signingKey = new secretsmanager.Secret(this, 'SigningKey', {
      description: 'tidings: HMAC key for coupon codes and unsubscribe tokens',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    this.envValues.signingKeySecretArn = this.signingKey.secretArn;
    NagSuppressions.addResourceSuppressions(this.signingKey, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'The HMAC key signs coupon codes and unsubscribe links that must stay valid for months; it is ' +
          'rotated by hand by writing {"current": new, "previous": old}, which the functions accept, ' +
          'instead of by a rotation Lambda that would invalidate links already sent.',
      },
    ]);

    // Guests are keyed by a keyed hash of their address; changing this key would change every
    // guest's key, so it is never rotated and outlives the stack.
    this.guestIdKey = new secretsmanager.Secret(this, 'GuestIdKey', {
      description: 'tidings: HMAC key of guest pseudonyms (never rotated)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.envValues.guestIdKeySecretArn = this.guestIdKey.secretArn;
    NagSuppressions.addResourceSuppressions(this.guestIdKey, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Guest customer ids are keyed by an HMAC of the address under this key; rotating it would ' +
          're-key every guest and lose their claims and consent, so it is never rotated.',
      },
    ]);

    // ---------------------------------------------------------------- unsubscribe (Function URL)
    const withUnsubscribe = props.unsubscribeFunction ?? existsSync(join(props.repoRoot, 'functions', UNSUBSCRIBE));
    if (withUnsubscribe) {
      const built = this.rustFunction(UNSUBSCRIBE, {
        memorySize: STEP_MEMORY_MB,
        timeout: STEP_TIMEOUT,
        description: 'tidings: one-click unsubscribe (RFC 8058) behind a Function URL',
        invokedAsynchronously: false,
      });
      this.grantTable(built.role, 'UnsubscribeTable', [this.table.tableArn, customerIndexArn], STEP_TABLE_ACTIONS);
      this.grantPutEvents(built.role, 'UnsubscribePutEvents');
      this.grantSigningKey(built.role, 'UnsubscribeSigningKey');
      // Auth NONE on purpose: RFC 8058 one-click unsubscribe means mailbox providers POST to the link
      // without credentials; every request carries an HMAC-signed token the function verifies.
      const url = built.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      // UNSUBSCRIBE_URL of the functions that link to it (infra/functions.json).
      this.envValues.unsubscribeUrl = url.url;
      new CfnOutput(this, 'UnsubscribeUrl', {
        description: 'The unsubscribe Function URL (passed to the step functions as UNSUBSCRIBE_URL)',
        value: url.url,
      });
    } else {
      // A stack deployed without functions/unsubscribe (props.unsubscribeFunction = false): links
      // use sender.unsubscribe_url from the configuration, a page the merchant hosts.
      new CfnOutput(this, 'UnsubscribeUrl', {
        description: 'No unsubscribe function in this stack: links use sender.unsubscribe_url',
        value: config.unsubscribeUrl ?? 'none',
      });
    }

    // ---------------------------------------------------------------- step functions and their rules
    for (const step of STEPS) {
      const { fn, role, dlq } = this.asyncFunction(step.name, {
        memorySize: STEP_MEMORY_MB,
        timeout: STEP_TIMEOUT,
        description: `tidings step ${step.name}: ${step.detailTypes.join(', ')}, FollowUpDue`,
      });
      const id = pascal(step.name);
      // The one place a duplicate email is possible (a transactional send SES never reported,
      // sent once more): counted as a metric, from the step's own log line. No alarm of its own.
      new logs.MetricFilter(this, `${id}RecoveredSends`, {
        logGroup: fn.logGroup,
        metricNamespace: RECOVERED_SENDS.namespace,
        metricName: RECOVERED_SENDS.name,
        filterPattern: logs.FilterPattern.stringValue('$.fields.metric', '=', 'recovered_send'),
        metricValue: '1',
      });
      this.grantTable(role, `${id}Table`, [this.table.tableArn, indexArn, customerIndexArn], STEP_TABLE_ACTIONS);
      this.grantPutEvents(role, `${id}PutEvents`);
      this.grantSigningKey(role, `${id}SigningKey`);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'SendAsTheStore',
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [identityArn, addressIdentityArn, ...configurationSetArns],
          conditions: { StringEquals: { 'ses:FromAddress': config.fromAddress } },
        }),
      );

      this.ruleTo(`${id}StoreEvents`, fn, dlq, RULE_RETRY, {
        eventBus: this.bus,
        description: `${step.name}: store events from ${config.sources.join(', ')}`,
        eventPattern: { source: config.sources, detailType: step.detailTypes },
      });
      this.ruleTo(`${id}FollowUps`, fn, dlq, RULE_RETRY, {
        eventBus: this.bus,
        description: `${step.name}: FollowUpDue events for this step`,
        eventPattern: { source: [TIDINGS_SOURCE], detailType: ['FollowUpDue'], detail: { step: [step.name] } },
      });
    }

    // ---------------------------------------------------------------- SES feedback
    // SES's report of each accepted message settles its claim and is announced as EmailSent;
    // bounces and complaints suppress the address, opens and clicks are counted: no sending, no key.
    // It still gets the configuration-set names (infra/functions.json): a step sending with a set
    // leaves EmailSent to SES's report, and ses-events announces from it only if it knows the same
    // sets (SesMailer::reports_sends). Names only: no SES permission.
    const sesEvents = this.asyncFunction(SES_FEEDBACK, {
      memorySize: STEP_MEMORY_MB,
      timeout: STEP_TIMEOUT,
      description: 'tidings: SES sends, bounces, complaints, deliveries, opens and clicks',
    });
    this.grantTable(sesEvents.role, 'SesEventsTable', [this.table.tableArn, customerIndexArn], STEP_TABLE_ACTIONS);
    this.grantPutEvents(sesEvents.role, 'SesEventsPutEvents');
    this.grantGuestIdKey(sesEvents.role, 'SesEventsGuestIdKey');
    this.ruleTo('SesEventsFeedback', sesEvents.fn, sesEvents.dlq, RULE_RETRY, {
      eventBus: this.bus,
      description: 'ses-events: SES configuration-set events',
      eventPattern: { source: ['aws.ses'], detailType: [...SES_DETAIL_TYPES] },
    });

    // ---------------------------------------------------------------- sweeper
    // The only reserved concurrency: one sweep at a time. Overlapping sweeps would emit the same
    // FollowUpDue twice and release bursts of sends into SES's per-second rate.
    const reserved = props.sweeperReservedConcurrency ?? 1;
    const sweeper = this.asyncFunction(SWEEPER, {
      // A sweep that could not run within a few minutes is superseded by the next ones.
      maxEventAge: Duration.minutes(5),
      memorySize: SWEEPER_MEMORY_MB,
      timeout: SWEEPER_TIMEOUT,
      description: 'tidings: emits one FollowUpDue per due follow-up, every minute',
      reservedConcurrentExecutions: reserved > 0 ? reserved : undefined,
    });
    this.grantTable(sweeper.role, 'SweeperIndex', [indexArn], ['dynamodb:Query']);
    this.grantTable(sweeper.role, 'SweeperUpgrade', [this.table.tableArn], SWEEPER_TABLE_ACTIONS);
    this.grantGuestIdKey(sweeper.role, 'SweeperGuestIdKey');
    this.grantPutEvents(sweeper.role, 'SweeperPutEvents');
    // Scheduled rules always live on the default bus.
    this.ruleTo('SweeperSchedule', sweeper.fn, sweeper.dlq, SCHEDULE_RETRY, {
      description: 'follow-up-sweeper: every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
    });

    // ---------------------------------------------------------------- SES events onto the store bus
    if (!props.useDefaultBus) {
      const dlq = this.deadLetterQueue('SesEventsForward');
      const forward = new events.Rule(this, 'SesEventsToBus', {
        eventBus: defaultBus,
        description: 'Forward SES events of the tidings configuration sets to the tidings bus',
        eventPattern: {
          source: ['aws.ses'],
          detail: {
            mail: {
              tags: {
                'ses:configuration-set': [transactional.configurationSetName, marketing.configurationSetName],
              },
            },
          },
        },
        targets: [new targets.EventBus(this.bus, { deadLetterQueue: dlq })],
      });
      // The EventBus target of CDK takes no retry policy; EventBridge accepts one for every target.
      (forward.node.defaultChild as events.CfnRule).addPropertyOverride('Targets.0.RetryPolicy', {
        MaximumEventAgeInSeconds: RULE_RETRY.maxEventAge.toSeconds(),
        MaximumRetryAttempts: RULE_RETRY.retryAttempts,
      });
    }

    // ---------------------------------------------------------------- account-level SES reputation
    this.alarm('SesBounceRate', {
      alarmDescription: 'SES bounce rate above 5% (SES reviews the account at 5% and may pause sending at 10%)',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SES',
        metricName: 'Reputation.BounceRate',
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
      threshold: 0.05,
    });
    this.alarm('SesComplaintRate', {
      alarmDescription:
        'SES complaint rate above 0.1% (SES reviews the account at 0.1% and may pause sending at 0.5%)',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SES',
        metricName: 'Reputation.ComplaintRate',
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
      threshold: 0.001,
    });

    // ---------------------------------------------------------------- outputs
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: this.bus.eventBusArn });
    new CfnOutput(this, 'ConfigurationSetTransactional', { value: transactional.configurationSetName });
    new CfnOutput(this, 'ConfigurationSetMarketing', { value: marketing.configurationSetName });
    new CfnOutput(this, 'SigningKeySecretArn', { value: this.signingKey.secretArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }

  /** A configuration set whose sending events go to the default bus (the only bus SES accepts). */
  private configurationSet(id: string, category: string, defaultBus: events.IEventBus): ses.ConfigurationSet {
    const set = new ses.ConfigurationSet(this, id, {
      configurationSetName: `${this.stackName}-${category}`,
      reputationMetrics: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    set.addEventDestination('ToEventBridge', {
      destination: ses.EventDestination.eventBus(defaultBus),
      events: SES_EVENTS,
    });
    return set;
  }

  /**
   * A Rust function of the Cargo workspace (binary `<name>`, docs/aws.md), arm64 on provided.al2023,
   * with its own role, log group and dead-letter queue, and alarms on errors and throttles.
   */
  private rustFunction(
    name: string,
    options: {
      memorySize: number;
      timeout: Duration;
      description: string;
      reservedConcurrentExecutions?: number;
      /** Invoked by EventBridge (asynchronous): retries, then the dead-letter queue. @default true */
      invokedAsynchronously?: boolean;
      /** How long Lambda keeps retrying a failed asynchronous invocation. @default 6 hours */
      maxEventAge?: Duration;
    },
  ): BuiltFunction {
    const asynchronous = options.invokedAsynchronously ?? true;
    const id = pascal(name);
    const functionName = `${this.stackName}-${name}`;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role instead of the AWSLambdaBasicExecutionRole managed policy: logs only to its own group.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `tidings ${name}`,
    });
    logGroup.grantWrite(role);
    const dlq = asynchronous ? this.deadLetterQueue(id) : undefined;

    // The other variables are tokens at synth time: reserve room for their deployed values.
    const reserve = 1024;
    const environment = environmentOf(this.specs, name, {
      ...this.envValues,
      storeConfig: storeConfigEnvValue(this.props.config, reserve),
    });
    const fn = new RustFunction(this, id, {
      functionName,
      description: options.description,
      // The workspace manifest + binary name: builds without needing functions/<name>/ at synth time.
      manifestPath: join(this.props.repoRoot, 'Cargo.toml'),
      binaryName: name,
      runtime: 'provided.al2023',
      architecture: lambda.Architecture.ARM_64,
      bundling: { architecture: lambda.Architecture.ARM_64 },
      memorySize: options.memorySize,
      timeout: options.timeout,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // Lambda sets AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL=INFO for the runtime; platform
      // INFO keeps the REPORT lines (duration, max memory) that the sizing above is refined from.
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      ...(dlq
        ? {
            retryAttempts: ASYNC_RETRY_ATTEMPTS,
            maxEventAge: options.maxEventAge ?? ASYNC_MAX_EVENT_AGE,
            onFailure: new destinations.SqsDestination(dlq),
          }
        : {}),
      environment,
    });
    this.functions[name] = fn;

    NagSuppressions.addResourceSuppressions(fn, [
      {
        id: 'Serverless-LambdaDLQ',
        reason: asynchronous
          ? 'Failed asynchronous invocations go to an SQS on-failure destination (the same dead-letter queue ' +
            'as its rules), which records the error with the event; a DeadLetterConfig would duplicate it.'
          : 'Invoked synchronously through its Function URL: the caller receives the error and there is no ' +
            'asynchronous event to dead-letter.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'The Rust functions emit no X-Ray segments; every JSON log line carries the message_key, which is ' +
          'the trace that matters here, and active tracing would add a Resource:* policy and cost.',
      },
    ]);

    this.alarm(`${id}Errors`, {
      alarmDescription: `${name}: invocation errors (events are retried, then dead-lettered)`,
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 0,
    });
    this.alarm(`${id}Throttles`, {
      alarmDescription: `${name}: throttled invocations`,
      metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 0,
    });
    return { fn, role, dlq };
  }

  private asyncFunction(
    name: string,
    options: Parameters<TidingsStack['rustFunction']>[1],
  ): Required<BuiltFunction> {
    const built = this.rustFunction(name, { ...options, invokedAsynchronously: true });
    return { ...built, dlq: built.dlq! };
  }

  /** An encrypted dead-letter queue (14 days) with an alarm on its depth. */
  private deadLetterQueue(id: string): sqs.Queue {
    const queue = new sqs.Queue(this, `${id}Dlq`, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const reason =
      'This queue is itself the dead-letter queue (EventBridge targets and Lambda on-failure destination); ' +
      'it is watched by an alarm and redriven by hand.';
    NagSuppressions.addResourceSuppressions(queue, [
      { id: 'AwsSolutions-SQS3', reason },
      { id: 'Serverless-SQSRedrivePolicy', reason },
    ]);
    this.deadLetterQueues.push(queue);
    this.alarm(`${id}DlqDepth`, {
      alarmDescription: `${id}: events were dead-lettered (look at the queue, fix, redrive)`,
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 0,
    });
    return queue;
  }

  private ruleTo(
    id: string,
    fn: lambda.IFunction,
    dlq: sqs.IQueue,
    retry: { maxEventAge: Duration; retryAttempts: number },
    ruleProps: events.RuleProps,
  ): events.Rule {
    const rule = new events.Rule(this, id, ruleProps);
    rule.addTarget(new targets.LambdaFunction(fn, { deadLetterQueue: dlq, ...retry }));
    return rule;
  }

  private grantTable(role: iam.Role, sid: string, resources: string[], actions: string[]): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources }));
  }

  /** The signing key and the guest-id key, which every function that reads tokens needs. */
  private grantSigningKey(role: iam.Role, sid: string): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.signingKey.secretArn, this.guestIdKey.secretArn],
      }),
    );
  }

  private grantGuestIdKey(role: iam.Role, sid: string): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid, actions: ['secretsmanager:GetSecretValue'], resources: [this.guestIdKey.secretArn] }),
    );
  }

  private grantPutEvents(role: iam.Role, sid: string): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        // tidings only ever emits its own events (EmailSent, CouponIssued, FollowUpDue).
        conditions: { StringEquals: { 'events:source': TIDINGS_SOURCE } },
      }),
    );
  }

  private alarm(
    id: string,
    props: { alarmDescription: string; metric: cloudwatch.IMetric; threshold: number },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      ...props,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
    alarm.addOkAction(new cwActions.SnsAction(this.alarmTopic));
    return alarm;
  }
}

function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}
