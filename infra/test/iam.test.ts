// IAM and keys: what each role may do, on which resources.
import { Template } from 'aws-cdk-lib/assertions';
import { SES_FEEDBACK, STEPS, SWEEPER, SWEEPER_TABLE_ACTIONS, TidingsStack } from '../lib/tidings-stack';
import { asArray, keyStatementsOf, logicalId, parameterNames, resources, statements, statementsOf, synthDefault } from './helpers';

const SCOPED_SERVICES = /^(dynamodb|ses|events|secretsmanager|ssm|cloudformation):/;

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
  });

  test('no Secrets Manager secret: the keys are SSM SecureStrings the Keys resource makes', () => {
    expect(resources(template, 'AWS::SecretsManager::Secret')).toEqual({});
    const keys = Object.values(resources(template, 'Custom::TidingsKeys'));
    expect(keys).toHaveLength(1);
    expect(keys[0].Properties.Keys).toEqual([
      expect.objectContaining({ name: `/tidings/${stack.stackName}/signing-key`, legacy: 'SigningKeyEEFC2790' }),
      expect.objectContaining({ name: `/tidings/${stack.stackName}/guest-id-key`, legacy: 'GuestIdKey40D306DC' }),
    ]);
    // No value anywhere in the template.
    expect(JSON.stringify(keys[0].Properties)).not.toMatch(/"value"/i);
  });

  test('the Keys provider may write only the two parameters and read only the two old secrets', () => {
    const role = resources(template, 'AWS::Lambda::Function')[logicalId(stack, stack.keys.provider)].Properties.Role['Fn::GetAtt'][0];
    const own = statements(template)
      .filter((s) => s.roles.includes(role))
      .map((s) => s.statement);
    const ssm = own.find((s: any) => asArray<string>(s.Action).includes('ssm:PutParameter'));
    expect(asArray(ssm.Action).sort()).toEqual(['ssm:GetParameter', 'ssm:PutParameter']);
    expect(parameterNames(ssm)).toEqual([`/tidings/${stack.stackName}/guest-id-key`, `/tidings/${stack.stackName}/signing-key`]);
    const secrets = own.find((s: any) => s.Action === 'secretsmanager:GetSecretValue');
    expect(asArray(secrets.Resource).map((r) => JSON.stringify(r))).toEqual([
      expect.stringContaining(':secret:SigningKeyEEFC2790-*'),
      expect.stringContaining(':secret:GuestIdKey40D306DC-*'),
    ]);
    const describe = own.find((s: any) => s.Action === 'cloudformation:DescribeStackResource');
    expect(describe.Resource).toEqual({ Ref: 'AWS::StackId' });
  });

  test('every role that reads a key waits for the Keys resource', () => {
    const keys = Object.keys(resources(template, 'Custom::TidingsKeys'))[0];
    for (const name of [...STEPS.map((s) => s.name), SES_FEEDBACK]) {
      const role = resources(template, 'AWS::IAM::Role')[logicalId(stack, stack.functions[name].role as any)] as any;
      expect(asArray(role.DependsOn)).toContain(keys);
    }
  });

  test('no IAM statement grants DynamoDB, SES, EventBridge or Secrets Manager actions on "*"', () => {
    const all = statements(template);
    expect(all.length).toBeGreaterThan(0);
    for (const { statement } of all) {
      const actions = asArray<string>(statement.Action);
      if (!actions.some((a) => SCOPED_SERVICES.test(a))) continue;
      expect(actions.every((a) => !a.endsWith(':*') && a !== '*')).toBe(true);
      for (const resource of asArray(statement.Resource)) expect(resource).not.toBe('*');
    }
    // Stronger: nothing in the stack needs Resource "*" at all.
    for (const { statement } of all) expect(asArray(statement.Resource)).not.toContain('*');
  });

  test('the alarm setter may Query the due index, upgrade the table, read the guest-id key, and puts no events', () => {
    const table = logicalId(stack, stack.table);
    const own = statementsOf(template, stack, SWEEPER);
    const dynamo = own.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/due']] },
      }),
      expect.objectContaining({ Action: SWEEPER_TABLE_ACTIONS, Resource: { 'Fn::GetAtt': [table, 'Arn'] } }),
    ]);
    const actions = own.flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => a.startsWith('ses:'))).toEqual([]);
    expect(keyStatementsOf(template, stack, SWEEPER).map(parameterNames)).toEqual([
      [`/tidings/${stack.stackName}/guest-id-key`],
    ]);
    expect(actions.filter((a) => a.startsWith('events:'))).toEqual([]);
  });

  test('SES sending is limited to the identity and the two configuration sets, from the configured address', () => {
    for (const step of STEPS) {
      const sesStatements = statementsOf(template, stack, step.name).filter((s) =>
        asArray<string>(s.Action).some((a) => a.startsWith('ses:')),
      );
      expect(sesStatements).toHaveLength(1);
      const [s] = sesStatements;
      expect(asArray(s.Action).sort()).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
      expect(s.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'hello@shop.example' } });
      const resourcesText = asArray(s.Resource).map((r) => JSON.stringify(r));
      expect(resourcesText.filter((r) => r.includes(':identity/shop.example"'))).toHaveLength(1);
      expect(resourcesText.filter((r) => r.includes(':configuration-set/'))).toHaveLength(2);
      expect(resourcesText.every((r) => r.includes(':identity/') || r.includes(':configuration-set/'))).toBe(true);
    }
  });

  test('events:PutEvents only on the tidings bus, only with source "tidings"; the signing key only for steps', () => {
    const busArn = { 'Fn::GetAtt': [logicalId(stack, stack.bus as any), 'Arn'] };
    for (const name of [...STEPS.map((s) => s.name), SES_FEEDBACK]) {
      const own = statementsOf(template, stack, name);
      const put = own.filter((s) => asArray<string>(s.Action).includes('events:PutEvents'));
      expect(put).toEqual([
        expect.objectContaining({ Resource: busArn, Condition: { StringEquals: { 'events:source': 'tidings' } } }),
      ]);
    }
    for (const step of STEPS) {
      expect(keyStatementsOf(template, stack, step.name).map(parameterNames)).toEqual([
        [`/tidings/${stack.stackName}/guest-id-key`, `/tidings/${stack.stackName}/signing-key`],
      ]);
    }
  });

  test('roles use no AWS managed policies', () => {
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});
