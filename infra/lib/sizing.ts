// Sizing and retries of the functions and their rules (docs/aws.md, "Failures and dead letters").
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';

// Sizing. These come from a first estimate (the engine needs ~0.2 ms of CPU for a typical order and
// ~7 ms for a 200-item one; the rest is DynamoDB/SES/EventBridge round trips) and are to be refined
// from measurement (CloudWatch `Max Memory Used` and `Duration` in the REPORT lines).
export const STEP_MEMORY_MB = 256;
export const STEP_TIMEOUT = Duration.seconds(30);
export const SWEEPER_MEMORY_MB = 128;
// The alarm setter reads every waiting follow-up and sets each one's alarm, once per migration.
export const SWEEPER_TIMEOUT = Duration.minutes(15);
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

// EventBridge → Lambda delivery: retried for up to a day (the maximum) before the event is dead-lettered.
export const RULE_RETRY = { maxEventAge: Duration.hours(24), retryAttempts: 185 };
// Lambda's own retries of a failed asynchronous invocation (function error, throttling), after which
// the event goes to the function's dead-letter queue (on-failure destination, with the error).
export const ASYNC_RETRY_ATTEMPTS = 2;
export const ASYNC_MAX_EVENT_AGE = Duration.hours(6);
