import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS, buildApp, repoRoot } from '../lib/app';
import { TidingsStack } from '../lib/tidings-stack';

export const ROOT = repoRoot(__dirname);
export const SAMPLE_CONFIG = join(ROOT, 'config', 'sample-store.toml');

/**
 * Synthesises the app as `cdk synth` would, from context only, without building the Rust functions
 * (no cargo, cargo-lambda, Docker, network or AWS credentials).
 */
export function synth(context: Record<string, unknown> = {}): { stack: TidingsStack; template: Template } {
  const { stack } = buildApp({ context: { [BUNDLING_STACKS]: [], ...context } });
  return { stack, template: Template.fromStack(stack) };
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
