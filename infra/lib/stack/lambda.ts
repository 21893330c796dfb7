// The Rust functions: each with its own role, log group, dead-letter queue and alarms.
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { NagSuppressions } from 'cdk-nag';
import { storeConfigEnvValue } from '../config';
import { environmentOf } from '../functions';
import { SEND_WARNINGS } from '../routing';
import { ASYNC_MAX_EVENT_AGE, ASYNC_RETRY_ATTEMPTS, LOG_RETENTION } from '../sizing';
import { alarm } from './alarms';
import { StackContext } from './context';

export interface BuiltFunction {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly dlq?: sqs.Queue;
}

export interface FunctionOptions {
  memorySize: number;
  timeout: Duration;
  description: string;
  reservedConcurrentExecutions?: number;
  /** Invoked by EventBridge (asynchronous): retries, then the dead-letter queue. @default true */
  invokedAsynchronously?: boolean;
  /** How long Lambda keeps retrying a failed asynchronous invocation. @default 6 hours */
  maxEventAge?: Duration;
  /**
   * Sends email: its sending warnings (SES's daily quota nearly used up, a message SES has not
   * taken for an hour, a parcel a tracking service did not register: log lines with `metric`
   * `send_quota_near`, `send_stuck` or `tracking_unregistered`) are counted and raise its errors
   * alarm. @default false
   */
  sends?: boolean;
}

/**
 * A Rust function of the Cargo workspace (binary `<name>`, docs/aws.md), arm64 on provided.al2023,
 * with its own role, log group and dead-letter queue, and alarms on errors and throttles.
 */
export function rustFunction(ctx: StackContext, name: string, options: FunctionOptions): BuiltFunction {
  const { stack } = ctx;
  const asynchronous = options.invokedAsynchronously ?? true;
  const id = pascal(name);
  const functionName = `${stack.stackName}-${name}`;
  const logGroup = new logs.LogGroup(stack, `${id}Logs`, {
    logGroupName: `/aws/lambda/${functionName}`,
    retention: LOG_RETENTION,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // Own role instead of the AWSLambdaBasicExecutionRole managed policy: logs only to its own group.
  const role = new iam.Role(stack, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `tidings ${name}`,
  });
  logGroup.grantWrite(role);
  const dlq = asynchronous ? deadLetterQueue(ctx, id) : undefined;

  // The other variables are tokens at synth time: reserve room for their deployed values.
  const reserve = 1024;
  const environment = environmentOf(ctx.specs, name, {
    ...ctx.envValues,
    storeConfig: storeConfigEnvValue(ctx.props.config, reserve),
  });
  const fn = new RustFunction(stack, id, {
    functionName,
    description: options.description,
    // The workspace manifest + binary name: builds without needing functions/<name>/ at synth time.
    manifestPath: join(ctx.props.repoRoot, 'Cargo.toml'),
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
  ctx.functions[name] = fn;

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

  const errors = fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' });
  alarm(ctx, `${id}Errors`, {
    alarmDescription: options.sends
      ? `${name}: invocation errors (events are retried, then dead-lettered), SES's daily quota nearly used up, or mail SES has not taken for an hour`
      : `${name}: invocation errors (events are retried, then dead-lettered)`,
    metric: options.sends ? errorsOrSendWarnings(ctx, id, logGroup, errors) : errors,
    threshold: 0,
  });
  alarm(ctx, `${id}Throttles`, {
    alarmDescription: `${name}: throttled invocations`,
    metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
    threshold: 0,
  });
  return { fn, role, dlq };
}

/** The function's errors plus its sending warnings (`SEND_WARNINGS`). */
function errorsOrSendWarnings(
  ctx: StackContext,
  id: string,
  logGroup: logs.LogGroup,
  errors: cloudwatch.IMetric,
): cloudwatch.IMetric {
  const filter = new logs.MetricFilter(ctx.stack, `${id}SendWarnings`, {
    logGroup,
    metricNamespace: SEND_WARNINGS.namespace,
    metricName: SEND_WARNINGS.name,
    filterPattern: logs.FilterPattern.any(
      logs.FilterPattern.stringValue('$.fields.metric', '=', 'send_quota_near'),
      logs.FilterPattern.stringValue('$.fields.metric', '=', 'send_stuck'),
      logs.FilterPattern.stringValue('$.fields.metric', '=', 'tracking_unregistered'),
    ),
    metricValue: '1',
  });
  const warnings = filter.metric({ period: Duration.minutes(5), statistic: 'Sum' });
  return new cloudwatch.MathExpression({
    expression: 'FILL(errors, 0) + FILL(warnings, 0)',
    usingMetrics: { errors, warnings },
    period: Duration.minutes(5),
    label: 'errors and sending warnings',
  });
}

/** A function invoked asynchronously (by EventBridge), so always with a dead-letter queue. */
export function asyncFunction(ctx: StackContext, name: string, options: FunctionOptions): Required<BuiltFunction> {
  const built = rustFunction(ctx, name, { ...options, invokedAsynchronously: true });
  return { ...built, dlq: built.dlq! };
}

/** An encrypted dead-letter queue (14 days) with an alarm on its depth. */
export function deadLetterQueue(ctx: StackContext, id: string): sqs.Queue {
  const queue = new sqs.Queue(ctx.stack, `${id}Dlq`, {
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
  ctx.deadLetterQueues.push(queue);
  alarm(ctx, `${id}DlqDepth`, {
    alarmDescription: `${id}: events were dead-lettered (look at the queue, fix, redrive)`,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
    threshold: 0,
  });
  return queue;
}

/** `order-confirmed` → `OrderConfirmed`: the construct ids of a function's resources. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}
