// The README's cost table against what the stack creates: a resource added or removed without the
// table following fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { WEBHOOK_TABLES, resources, shopifyTable, synthDefault, synthSample } from './helpers';

/** The rows of the README's "What it costs" table: item → quantity column. */
function costRows(): Map<string, string> {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.split('### What it costs')[1]?.split('\n### ')[0] ?? '';
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length >= 5 && cells[1] && !/^-+$/.test(cells[1]) && cells[1] !== 'item') rows.set(cells[1], cells[2]);
  }
  return rows;
}

/** The first number of a quantity cell ("3 (the failures queue, …)" → 3, "43,200 + …" → 43200). */
function leadingNumber(cell: string | undefined): number {
  const match = cell?.match(/^[≈~≤ ]*([\d,]+)/);
  if (!match) throw new Error(`no number in ${JSON.stringify(cell)}`);
  return Number(match[1].replace(/,/g, ''));
}

const rows = costRows();

describe.each([
  ['the default deployment', () => synthDefault()],
  ['with every integration', () => synthSample(shopifyTable() + WEBHOOK_TABLES, { unsubscribe: 'true' })],
])('%s', (_name, build) => {
  let template: Template;
  beforeAll(() => {
    ({ template } = build());
  });

  test('the alarms row counts the alarms', () => {
    expect(leadingNumber(rows.get('CloudWatch alarms'))).toBe(Object.keys(resources(template, 'AWS::CloudWatch::Alarm')).length);
  });

  test('no Secrets Manager row and no secret; the SSM row counts the keys the Keys resource makes', () => {
    expect([...rows.keys()].filter((item) => /secrets manager/i.test(item))).toEqual([]);
    expect(resources(template, 'AWS::SecretsManager::Secret')).toEqual({});
    const keys = Object.values(resources(template, 'Custom::TidingsKeys')).flatMap((k) => k.Properties.Keys);
    expect(leadingNumber(rows.get('SSM Parameter Store'))).toBe(keys.length);
  });

  test('nothing on a clock: no scheduled rule, no sweeper row; the Scheduler row is the one schedule group', () => {
    const schedules = Object.values(resources(template, 'AWS::Events::Rule')).filter((r) => r.Properties.ScheduleExpression);
    expect(schedules).toEqual([]);
    expect(rows.get('Lambda requests')).not.toContain('43,200');
    expect([...rows.keys()].filter((item) => /sweeper/i.test(item))).toEqual([]);
    expect(Object.keys(resources(template, 'AWS::Scheduler::ScheduleGroup'))).toHaveLength(1);
    expect(rows.get('EventBridge Scheduler')).toMatch(/one-time schedules/);
  });
});
