// Follow-ups woken when due, with nothing polling (docs/aws.md, "Follow-ups"): a store function
// sets one EventBridge Scheduler one-time schedule per follow-up before storing it (Rust
// `tidings_aws::alarms`), in the stack's schedule group; at its minute the schedule puts the
// follow-up's `FollowUpDue` on the bus, as the retired minute sweeper did, and deletes itself.
// What Scheduler cannot deliver in a day goes to the failures queue.
//
// The `follow-up-sweeper` function no longer sweeps: run once by the `FollowUpAlarms` custom
// resource when this release is deployed, it upgrades the table and sets an alarm for every
// follow-up an earlier release stored without one (a yearly birthday among them).
import { ArnFormat, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { NagSuppressions } from 'cdk-nag';
import { SWEEPER, SWEEPER_TABLE_ACTIONS } from '../routing';
import { STEP_TIMEOUT, SWEEPER_MEMORY_MB, SWEEPER_TIMEOUT } from '../sizing';
import type { Buses } from './bus';
import { Shared, StackContext } from './context';
import { grantGuestIdKey } from './keys';
import { asyncFunction } from './lambda';
import { grantTable } from './table';

export interface FollowUpAlarms {
  /** The schedule group every alarm is set in. */
  readonly groupName: string;
  /** The role Scheduler assumes to put a due follow-up on the bus (and a failure in the queue). */
  readonly role: iam.Role;
}

/**
 * The migration the `FollowUpAlarms` resource runs: a new value runs the sweeper function's job
 * once more on the next deployment (a release that must set alarms again, or upgrade the table).
 */
export const ALARMS_MIGRATION = 'alarms-1';

/** The schedule group and Scheduler's role; their names and ARNs go into the functions' environment. */
export function createAlarmGroup(ctx: StackContext, buses: Buses): FollowUpAlarms {
  const { stack } = ctx;
  const groupName = `${stack.stackName}-follow-ups`;
  const group = new scheduler.CfnScheduleGroup(stack, 'FollowUpAlarmGroup', { name: groupName });
  const role = new iam.Role(stack, 'FollowUpAlarmRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
    description: 'tidings: EventBridge Scheduler puts due follow-ups on the bus',
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DueFollowUpsOnTheBus',
      actions: ['events:PutEvents'],
      resources: [buses.bus.eventBusArn],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'UndeliveredToTheFailuresQueue',
      actions: ['sqs:SendMessage'],
      resources: [ctx.failures.queueArn],
    }),
  );
  ctx.envValues.alarmGroup = group.ref;
  ctx.envValues.alarmRoleArn = role.roleArn;
  ctx.envValues.eventBusArn = buses.bus.eventBusArn;
  ctx.envValues.failuresQueueArn = ctx.failures.queueArn;
  return { groupName, role };
}

/** Setting and clearing alarms in the group, and handing Scheduler its role: every store function. */
export function grantAlarms(role: iam.Role, sid: string, alarms: FollowUpAlarms): void {
  const stack = Stack.of(role);
  const schedules = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${alarms.groupName}/*` });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid,
      actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
      resources: [schedules],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: `${sid}PassRole`,
      actions: ['iam:PassRole'],
      resources: [alarms.role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }),
  );
  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Alarms are one-time schedules named by a hash of each follow-up, created and deleted at run time: ' +
          'only the stack’s own schedule group is granted.',
        appliesTo: [`Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${alarms.groupName}/*`],
      },
    ],
    true,
  );
}

/**
 * The `follow-up-sweeper` function, which sets the alarms of follow-ups stored before alarms, and
 * the custom resource that runs it once per migration (asynchronously: on a large table it takes
 * minutes; a failure reaches the failures queue like any other function's).
 */
export function createAlarmSetter(ctx: StackContext, { table, keys, alarms }: Shared): void {
  const setter = asyncFunction(ctx, SWEEPER, {
    memorySize: SWEEPER_MEMORY_MB,
    timeout: SWEEPER_TIMEOUT,
    description: 'tidings: upgrades the table and sets an alarm for each follow-up stored without one (once per migration)',
  });
  grantTable(setter.role, 'SweeperIndex', [table.indexArn], ['dynamodb:Query']);
  grantTable(setter.role, 'SweeperUpgrade', [table.table.tableArn], SWEEPER_TABLE_ACTIONS);
  grantGuestIdKey(setter.role, 'SweeperGuestIdKey', keys);
  grantAlarms(setter.role, 'SweeperAlarms', alarms);
  // By name, not by reference: the setter's role waits for the Keys resource this function serves.
  const setterArn = ctx.stack.formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: `${ctx.stack.stackName}-${SWEEPER}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  keys.provider.addToRolePolicy(
    new iam.PolicyStatement({ sid: 'RunTheAlarmSetter', actions: ['lambda:InvokeFunction'], resources: [setterArn] }),
  );
  const resource = new CustomResource(ctx.stack, 'FollowUpAlarms', {
    serviceToken: keys.provider.functionArn,
    resourceType: 'Custom::TidingsFollowUpAlarms',
    properties: {
      FunctionName: setter.fn.functionName,
      Migration: ALARMS_MIGRATION,
      // An invocation of a function's previous code may still store a follow-up without an alarm
      // while the deployment replaces it: the job waits out the longest step's timeout first.
      SettleSeconds: String(STEP_TIMEOUT.plus(Duration.seconds(30)).toSeconds()),
    },
  });
  // After every function is updated to set alarms itself.
  for (const fn of Object.values(ctx.functions)) resource.node.addDependency(fn);
}
