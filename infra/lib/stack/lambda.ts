// The Rust functions: each with its own role and log group; what fails for good goes to the stack's
// one failures queue (alarms.ts), which names the function.
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RustFunction } from 'cargo-lambda-cdk';
import { NagSuppressions } from 'cdk-nag';
import { storeConfigEnvValue } from '../config';
import { environmentOf } from '../functions';
import { ASYNC_MAX_EVENT_AGE, ASYNC_RETRY_ATTEMPTS, LOG_RETENTION } from '../sizing';
import { StackContext } from './context';

export interface BuiltFunction {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
}

export interface FunctionOptions {
  memorySize: number;
  timeout: Duration;
  description: string;
  reservedConcurrentExecutions?: number;
  /** Invoked by EventBridge (asynchronous): retries, then the failures queue. @default true */
  invokedAsynchronously?: boolean;
  /** How long Lambda keeps retrying a failed asynchronous invocation. @default 6 hours */
  maxEventAge?: Duration;
}

/**
 * A Rust function of the Cargo workspace (binary `<name>`, docs/aws.md), arm64 on provided.al2023,
 * with its own role and log group. An asynchronous one retries, then leaves the event with its
 * error in the failures queue (Lambda's on-failure destination). No alarm of its own: a failure
 * that retries mend needs nobody, and one they do not reaches the queue's alarm.
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
    ...(asynchronous
      ? {
          retryAttempts: ASYNC_RETRY_ATTEMPTS,
          maxEventAge: options.maxEventAge ?? ASYNC_MAX_EVENT_AGE,
          onFailure: new destinations.SqsDestination(ctx.failures),
        }
      : {}),
    environment,
  });
  ctx.functions[name] = fn;

  NagSuppressions.addResourceSuppressions(fn, [
    {
      id: 'Serverless-LambdaDLQ',
      reason: asynchronous
        ? 'Failed asynchronous invocations go to an SQS on-failure destination (the failures queue, also ' +
          'the dead-letter queue of its rules), which records the error with the event; a DeadLetterConfig ' +
          'would duplicate it.'
        : 'Invoked synchronously through its Function URL: the caller receives the error, and the function ' +
          'announces it as AttentionNeeded, which a rule puts in the failures queue.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason:
        'The Rust functions emit no X-Ray segments; every JSON log line carries the message_key, which is ' +
        'the trace that matters here, and active tracing would add a Resource:* policy and cost.',
    },
  ]);

  return { fn, role };
}

/** A function invoked asynchronously (by EventBridge): retries, then the failures queue. */
export function asyncFunction(ctx: StackContext, name: string, options: FunctionOptions): BuiltFunction {
  return rustFunction(ctx, name, { ...options, invokedAsynchronously: true });
}

/** `order-confirmed` → `OrderConfirmed`: the construct ids of a function's resources. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}
