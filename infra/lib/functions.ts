// infra/functions.json: what each function is deployed with. Its environment names the variables a
// function gets and, for each, what the stack puts there (a symbolic value this file maps to the
// constructs). The AWS tests (tests/support/functions.rs) build every function's settings from the
// same file, and a Rust test checks that it names exactly the variables the functions read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The symbolic values of infra/functions.json. */
export const ENV_SOURCES = [
  'tableName',
  'eventBusName',
  'storeConfig',
  'logLevel',
  'configurationSet:transactional',
  'configurationSet:marketing',
  'signingKeyParameter',
  'guestIdKeyParameter',
  'unsubscribeUrl',
  'shopifyCredentialsParameter',
  'deadLetterQueueUrl',
  'alarmGroup',
  'alarmRoleArn',
  'eventBusArn',
  'failuresQueueArn',
] as const;
export type EnvSource = (typeof ENV_SOURCES)[number];

/**
 * Sources a deployment may lack: the variable is then not set (`unsubscribeUrl` without that function,
 * `shopifyCredentialsParameter` without `[shopify]` in the store configuration).
 */
export const OPTIONAL_SOURCES: readonly EnvSource[] = ['unsubscribeUrl', 'shopifyCredentialsParameter'];

export interface FunctionSpec {
  /** Variable name → what the stack puts there. */
  readonly environment: Readonly<Record<string, EnvSource>>;
  /**
   * The detail types its rule matches, for a function with a rule of its own (the steps and
   * ses-events). Defined in Rust (`event::routing`); a Rust test keeps the file equal to it.
   */
  readonly detailTypes?: readonly string[];
}

/** Reads and checks `infra/functions.json` of the repository at `repoRoot`. */
export function loadFunctions(repoRoot: string): Record<string, FunctionSpec> {
  const path = join(repoRoot, 'infra', 'functions.json');
  const file: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (file === null || typeof file !== 'object' || Array.isArray(file)) throw new Error(`${path}: not an object`);
  const functions: Record<string, FunctionSpec> = {};
  for (const [name, spec] of Object.entries(file as Record<string, any>)) {
    const environment = spec?.environment;
    if (environment === null || typeof environment !== 'object' || Array.isArray(environment)) {
      throw new Error(`${path}: ${name}.environment must be an object`);
    }
    for (const [variable, source] of Object.entries(environment)) {
      if (!(ENV_SOURCES as readonly unknown[]).includes(source)) {
        throw new Error(`${path}: ${name}.environment.${variable}: unknown value ${JSON.stringify(source)}`);
      }
    }
    const detailTypes = spec?.detailTypes;
    if (detailTypes !== undefined && (!Array.isArray(detailTypes) || !detailTypes.every((t) => typeof t === 'string'))) {
      throw new Error(`${path}: ${name}.detailTypes must be a list of strings`);
    }
    functions[name] = { environment: environment as Record<string, EnvSource>, detailTypes };
  }
  return functions;
}

/**
 * The environment of `name`: each variable of the file with the value of its source. A source
 * without a value is an error, unless it is optional (the variable is then left out).
 */
export function environmentOf(
  functions: Record<string, FunctionSpec>,
  name: string,
  values: Partial<Record<EnvSource, string>>,
): Record<string, string> {
  const spec = functions[name];
  if (!spec) throw new Error(`infra/functions.json has no function ${name}`);
  const environment: Record<string, string> = {};
  for (const [variable, source] of Object.entries(spec.environment)) {
    const value = values[source];
    if (value !== undefined) environment[variable] = value;
    else if (!OPTIONAL_SOURCES.includes(source)) throw new Error(`${name}.${variable}: no value for ${source}`);
  }
  return environment;
}
