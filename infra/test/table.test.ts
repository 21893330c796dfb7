// The table and the actions granted on it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { STEP_TABLE_ACTIONS, STEPS, SWEEPER_TABLE_ACTIONS, TidingsStack } from '../lib/tidings-stack';
import { ROOT, asArray, logicalId, statementsOf, synthDefault } from './helpers';

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
  });

  test('table: pk/sk, on-demand, PITR, TTL, GSI due, deletion protection, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          {
            IndexName: 'due',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'customer',
            KeySchema: [
              { AttributeName: 'gsi2pk', KeyType: 'HASH' },
              { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });

  test('every DynamoDB operation the Rust store calls is granted to the steps', () => {
    // moto does not enforce IAM, so only this catches an operation added in Rust but not granted.
    const dir = join(ROOT, 'aws/src/dynamo');
    const source = readdirSync(dir)
      .filter((name) => name.endsWith('.rs'))
      .map((name) => readFileSync(join(dir, name), 'utf8'))
      .join('\n');
    const calls = new Set([...source.matchAll(/^\s*\.([a-z_]+)\(\)\s*$/gm)].map((m) => m[1]));
    const operations = ['get_item', 'batch_get_item', 'put_item', 'update_item', 'delete_item', 'query', 'scan'];
    const used = operations.filter((op) => calls.has(op));
    expect(used).toContain('batch_get_item');
    const action = (op: string) =>
      'dynamodb:' + op.replace(/(^|_)([a-z])/g, (_all: string, _sep: string, letter: string) => letter.toUpperCase());
    for (const op of used) expect(STEP_TABLE_ACTIONS).toContain(action(op));
  });

  test('steps: exactly the table actions of docs/aws.md on the table and its index', () => {
    const table = logicalId(stack, stack.table);
    for (const step of STEPS) {
      const dynamo = statementsOf(template, stack, step.name).filter((s) =>
        asArray<string>(s.Action).some((a) => a.startsWith('dynamodb:')),
      );
      expect(dynamo).toHaveLength(1);
      expect(asArray(dynamo[0].Action).sort()).toEqual([...STEP_TABLE_ACTIONS].sort());
      expect(dynamo[0].Resource).toEqual([
        { 'Fn::GetAtt': [table, 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/due']] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/customer']] },
      ]);
    }
  });

  test('every DynamoDB operation of the upgrade is granted to the sweeper', () => {
    const source = readFileSync(join(ROOT, 'aws/src/upgrade.rs'), 'utf8');
    const calls = new Set([...source.matchAll(/\.([a-z_]+)\(\)/g)].map((m) => m[1]));
    expect(calls).toContain('scan');
    expect(calls).toContain('update_item');
    // Moves are transactions of a put and a delete; the marker is read and put.
    for (const action of ['dynamodb:Scan', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem']) {
      expect(SWEEPER_TABLE_ACTIONS).toContain(action);
    }
  });
});
