// Follow-ups' alarms (lib/stack/follow-ups.ts): one schedule group, Scheduler's role limited to the
// bus and the failures queue, every store function may set and clear alarms in that group only and
// pass that role only to Scheduler, and the alarm setter runs once per migration after every
// function that stores follow-ups is updated.
import { Template } from 'aws-cdk-lib/assertions';
import { SES_FEEDBACK, STEPS, SWEEPER, TidingsStack, UNSUBSCRIBE } from '../lib/tidings-stack';
import { ALARMS_MIGRATION } from '../lib/stack/follow-ups';
import { asArray, envOf, logicalId, resources, statementsOf, synthOtherStore, synthDefault } from './helpers';

describe.each([
  ['the default deployment', () => synthDefault()],
  ['with the unsubscribe function, on the default bus', () => synthOtherStore()],
])('%s', (_name, build) => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = build());
  });

  const groupName = () => `${stack.stackName}-follow-ups`;
  const schedulerRole = () => {
    const roles = Object.entries(resources(template, 'AWS::IAM::Role')).filter(([, role]) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    );
    expect(roles).toHaveLength(1);
    return roles[0];
  };

  test('one schedule group, named after the stack', () => {
    const groups = Object.values(resources(template, 'AWS::Scheduler::ScheduleGroup'));
    expect(groups.map((g) => g.Properties.Name)).toEqual([groupName()]);
  });

  test("Scheduler's role: assumed only by Scheduler of this account; PutEvents on the bus, SendMessage on the failures queue", () => {
    const [id, role] = schedulerRole();
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
    const policies = Object.values(resources(template, 'AWS::IAM::Policy')).filter((p) =>
      asArray(p.Properties.Roles).some((r: any) => r.Ref === id),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.map((s: any) => s.Action).sort()).toEqual(['events:PutEvents', 'sqs:SendMessage']);
    const failures = statements.find((s: any) => s.Action === 'sqs:SendMessage');
    expect(failures.Resource).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.failures), 'Arn'] });
  });

  test('every function that stores follow-ups sets and clears alarms in the group only, and passes the role only to Scheduler', () => {
    const [roleId] = schedulerRole();
    const storing = [...STEPS.map((s) => s.name), SES_FEEDBACK, SWEEPER, ...(stack.functions[UNSUBSCRIBE] ? [UNSUBSCRIBE] : [])];
    for (const name of storing) {
      const own = statementsOf(template, stack, name);
      const schedules = own.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('scheduler:')));
      expect(schedules).toHaveLength(1);
      expect(asArray(schedules[0].Action).sort()).toEqual(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule']);
      expect(JSON.stringify(schedules[0].Resource)).toContain(`:schedule/${groupName()}/*`);
      const pass = own.filter((s) => asArray<string>(s.Action).includes('iam:PassRole'));
      expect(pass).toEqual([
        expect.objectContaining({
          Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
          Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      ]);
      const env = envOf(template, stack, name);
      expect(env.FOLLOW_UP_ALARM_GROUP).toEqual({ Ref: expect.stringMatching(/^FollowUpAlarmGroup/) });
      expect(env.FOLLOW_UP_ALARM_ROLE_ARN).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect(env.FAILURES_QUEUE_ARN).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.failures), 'Arn'] });
    }
  });

  test('the alarm setter runs once per migration, asynchronously, after every store function is updated', () => {
    const resource = Object.entries(resources(template, 'Custom::TidingsFollowUpAlarms'));
    expect(resource).toHaveLength(1);
    const [, alarms] = resource[0];
    expect(alarms.Properties).toMatchObject({
      ServiceToken: { 'Fn::GetAtt': [logicalId(stack, stack.keys.provider), 'Arn'] },
      FunctionName: { Ref: logicalId(stack, stack.functions[SWEEPER]) },
      Migration: ALARMS_MIGRATION,
      SettleSeconds: '60',
    });
    for (const name of [...STEPS.map((s) => s.name), SES_FEEDBACK, SWEEPER]) {
      expect((alarms as any).DependsOn).toContain(logicalId(stack, stack.functions[name]));
    }
    const invoke = Object.values(resources(template, 'AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => asArray<string>(s.Action).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0].Resource)).toContain(`:function:${stack.stackName}-${SWEEPER}`);
  });
});
