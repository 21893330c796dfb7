// IAM and secrets: what each role may do, on which resources.
import { Template } from 'aws-cdk-lib/assertions';
import { SES_FEEDBACK, STEPS, SWEEPER, SWEEPER_TABLE_ACTIONS, TidingsStack } from '../lib/tidings-stack';
import { asArray, logicalId, resources, statements, statementsOf, synthDefault } from './helpers';

const SCOPED_SERVICES = /^(dynamodb|ses|events|secretsmanager):/;

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
  });

  test('the signing key and the guest-id key are generated 48-character secrets; the guest-id key is kept', () => {
    const secrets = resources(template, 'AWS::SecretsManager::Secret');
    expect(Object.keys(secrets).sort()).toEqual([logicalId(stack, stack.guestIdKey), logicalId(stack, stack.signingKey)].sort());
    for (const secret of Object.values(secrets) as any[]) {
      expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 48 });
    }
    const guestIdKey = secrets[logicalId(stack, stack.guestIdKey)] as any;
    expect(guestIdKey.DeletionPolicy).toBe('Retain');
    expect(guestIdKey.UpdateReplacePolicy).toBe('Retain');
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

  test('the sweeper may Query the due index, upgrade the table, read the guest-id key and put events', () => {
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
    const secrets = own.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toEqual([
      expect.objectContaining({
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: logicalId(stack, stack.guestIdKey) },
      }),
    ]);
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

  test('events:PutEvents only on the tidings bus, only with source "tidings"; the secret only for steps', () => {
    const busArn = { 'Fn::GetAtt': [logicalId(stack, stack.bus as any), 'Arn'] };
    for (const name of [...STEPS.map((s) => s.name), SES_FEEDBACK, SWEEPER]) {
      const own = statementsOf(template, stack, name);
      const put = own.filter((s) => asArray<string>(s.Action).includes('events:PutEvents'));
      expect(put).toEqual([
        expect.objectContaining({ Resource: busArn, Condition: { StringEquals: { 'events:source': 'tidings' } } }),
      ]);
    }
    for (const step of STEPS) {
      const secret = statementsOf(template, stack, step.name).filter((s) =>
        asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')),
      );
      expect(secret).toEqual([
        expect.objectContaining({
          Action: 'secretsmanager:GetSecretValue',
          Resource: [{ Ref: logicalId(stack, stack.signingKey) }, { Ref: logicalId(stack, stack.guestIdKey) }],
        }),
      ]);
    }
  });

  test('roles use no AWS managed policies', () => {
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});
