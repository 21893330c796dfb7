// What the parts of the stack (lib/stack/*.ts) share. Every part creates its resources with the
// stack itself as their scope, under the construct ids they always had: no intermediate construct,
// so construct paths, and with them the logical ids of deployed (and retained) resources, stay those
// of the one flat stack.
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { EnvSource, FunctionSpec } from '../functions';
import type { TidingsStackProps } from '../tidings-stack';
import type { Buses } from './bus';
import type { FollowUpAlarms } from './follow-ups';
import type { Keys } from './keys';
import type { Mail } from './mail';
import type { TableResources } from './table';

export interface StackContext {
  /** The scope of every resource. */
  readonly stack: Stack;
  readonly props: TidingsStackProps;
  /** infra/functions.json. */
  readonly specs: Record<string, FunctionSpec>;
  /** What each symbolic value of infra/functions.json stands for, filled in as the constructs exist. */
  readonly envValues: Partial<Record<EnvSource, string>>;
  /** Where every alarm goes. */
  readonly alarmTopic: sns.Topic;
  /** The functions by name, filled in as they are created (TidingsStack.functions). */
  readonly functions: Record<string, lambda.Function>;
  /**
   * The one queue of everything that failed for good or needs a look (lib/stack/alarms.ts): every
   * rule's dead letters, every asynchronous function's on-failure destination, the synchronous
   * endpoints' failures and the engine's `AttentionNeeded` announcements. One alarm watches it.
   */
  readonly failures: sqs.Queue;
  /** The same queue as a rule's dead-letter queue (no statement per rule in its policy). */
  readonly deadLetters: sqs.IQueue;
  /** Every rule that dead-letters into `failures`, filled in as they are created. */
  readonly rules: events.IRule[];
}

/** The shared resources the functions are given access to. */
export interface Shared {
  readonly table: TableResources;
  readonly buses: Buses;
  readonly mail: Mail;
  readonly keys: Keys;
  /** The follow-ups' alarms (lib/stack/follow-ups.ts). */
  readonly alarms: FollowUpAlarms;
}
