// Shared setup of the stack tests: assertions on the synthesised template (no snapshots). Synthesis
// skips bundling: no cargo, Docker, network or AWS credentials are needed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS, buildApp, repoRoot } from '../lib/app';
import { loadFunctions } from '../lib/functions';
import { SHOPIFY, TidingsStack, UNSUBSCRIBE, WEBHOOKS } from '../lib/tidings-stack';

export const ROOT = repoRoot(__dirname);
export const SAMPLE_CONFIG = join(ROOT, 'config', 'sample-store.toml');
export const SAMPLE = readFileSync(SAMPLE_CONFIG, 'utf8');
/** The findings of the cdk-nag packs. */
export const NAG = Match.stringLikeRegexp('AwsSolutions-.*|Serverless-.*');
/** infra/functions.json. */
export const FUNCTIONS = loadFunctions(ROOT);

/**
 * Synthesises the app as `cdk synth` would, from context only, without building the Rust functions
 * (no cargo, cargo-lambda, Docker, network or AWS credentials).
 */
export function synth(context: Record<string, unknown> = {}): { stack: TidingsStack; template: Template } {
  const { stack } = buildApp({ context: { [BUNDLING_STACKS]: [], ...context } });
  return { stack, template: Template.fromStack(stack) };
}

/** The default deployment (custom bus, sample store, no unsubscribe function yet). */
export function synthDefault(): { stack: TidingsStack; template: Template } {
  return synth({ unsubscribe: false });
}

/** The variant: another store on the default bus, existing SES identity, unsubscribe function. */
export function synthOtherStore(): { stack: TidingsStack; template: Template } {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-infra-'));
  const configPath = join(dir, 'other-store.toml');
  writeFileSync(
    configPath,
    SAMPLE.replace('sources = ["shop.example"]', 'sources = ["shopify.other", "backfill.other"]')
      .replace('from_address = "hello@shop.example"', 'from_address = "news@mail.other.example"')
      .replace('reply_to = "help@shop.example"', 'reply_to = "team@other.example"'),
  );
  return synth({
    config: configPath,
    stackName: 'OtherStore',
    useDefaultBus: 'true',
    createSesIdentity: 'false',
    unsubscribe: 'true',
    alarmEmail: 'ops@other.example',
  });
}

/** A `[shopify]` table for the sample store (`extra`: more of its keys). */
export function shopifyTable(extra = ''): string {
  return `\n[shopify]\nshop = "maple-moss.myshopify.com"\nevent_source = "${SHOPIFY_EVENT_SOURCE}"\n${extra}`;
}
export const SHOPIFY_EVENT_SOURCE = 'aws.partner/shopify.com/1830279/tidings';

/** The variant: the sample store connected to Shopify (`[shopify]`), otherwise the default deployment. */
export function synthShopify(
  extra = '',
  context: Record<string, unknown> = {},
): { stack: TidingsStack; template: Template } {
  return synthSample(shopifyTable(extra), context);
}

/** `[woocommerce]`, `[aftership]` and `[easypost]` for the sample store. */
export const WEBHOOK_TABLES = `
[woocommerce]
site_url = "https://maple-moss.example"

[aftership]
webhook_secret_parameter = "/tidings/aftership/webhook-secret"
api_key_parameter = "/tidings/aftership/api-key"

[easypost]
webhook_secret_parameter = "/tidings/easypost/webhook-secret"
`;

/** The sample store with `tables` appended, otherwise the default deployment. */
export function synthSample(tables: string, context: Record<string, unknown> = {}): { stack: TidingsStack; template: Template } {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-infra-'));
  const configPath = join(dir, 'store.toml');
  writeFileSync(configPath, SAMPLE + tables);
  return synth({ config: configPath, unsubscribe: false, ...context });
}

export type Resources = Record<string, { Type: string; Properties?: any; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

export function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

export function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as any);
}

/** Every IAM policy statement of the template, with the logical ids of the roles it is attached to. */
export function statements(template: Template): { roles: string[]; statement: any }[] {
  const out: { roles: string[]; statement: any }[] = [];
  for (const policy of Object.values(resources(template, 'AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles ?? []).map((r: any) => r.Ref);
    for (const statement of policy.Properties.PolicyDocument.Statement) out.push({ roles, statement });
  }
  for (const [id, role] of Object.entries(resources(template, 'AWS::IAM::Role'))) {
    for (const policy of role.Properties.Policies ?? []) {
      for (const statement of policy.PolicyDocument.Statement) out.push({ roles: [id], statement });
    }
  }
  return out;
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Logical id of the role of a function. */
export function roleOf(template: Template, stack: TidingsStack, name: string): string {
  const fn = resources(template, 'AWS::Lambda::Function')[logicalId(stack, stack.functions[name])];
  return fn.Properties.Role['Fn::GetAtt'][0];
}

export function statementsOf(template: Template, stack: TidingsStack, name: string): any[] {
  const role = roleOf(template, stack, name);
  return statements(template)
    .filter((s) => s.roles.includes(role))
    .map((s) => s.statement);
}

export function envOf(template: Template, stack: TidingsStack, name: string): Record<string, unknown> {
  const fn = resources(template, 'AWS::Lambda::Function')[logicalId(stack, stack.functions[name])];
  return fn.Properties.Environment.Variables;
}

/** Every deployed function has exactly the variables infra/functions.json gives it (the AWS tests use the same file). */
export function expectEnvironmentsOfTheFile(
  template: Template,
  stack: TidingsStack,
  withUnsubscribe: boolean,
  withShopify = false,
  withWebhooks = false,
): void {
  const deployed = Object.keys(stack.functions).sort();
  const listed = Object.keys(FUNCTIONS).filter(
    (name) =>
      (withUnsubscribe || name !== UNSUBSCRIBE) && (withShopify || name !== SHOPIFY) && (withWebhooks || name !== WEBHOOKS),
  );
  expect(deployed).toEqual(listed.sort());
  for (const name of deployed) {
    const expected = Object.entries(FUNCTIONS[name].environment)
      .filter(([, source]) => withUnsubscribe || source !== 'unsubscribeUrl')
      .filter(([, source]) => withShopify || source !== 'shopifyCredentialsParameter')
      .map(([variable]) => variable);
    expect([name, Object.keys(envOf(template, stack, name)).sort()]).toEqual([name, expected.sort()]);
  }
}

/** The SSM parameters a statement's resources name (`/tidings/<stack>/signing-key`), sorted. */
export function parameterNames(statement: any): string[] {
  return asArray(statement.Resource)
    .map((r) => JSON.stringify(r).match(/:parameter(\/[^"]+)"/)?.[1] ?? JSON.stringify(r))
    .sort();
}

/** The statements of `name`'s role that read the HMAC keys (`ssm:GetParameters`). */
export function keyStatementsOf(template: Template, stack: TidingsStack, name: string): any[] {
  return statementsOf(template, stack, name).filter((s) => asArray<string>(s.Action).includes('ssm:GetParameters'));
}
