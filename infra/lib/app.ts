// Builds the app from CDK context: used by bin/tidings.ts and by the tests.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Annotations, App, AppProps, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadStoreConfig } from './config';
import { TidingsStack } from './tidings-stack';

/** Context key that tells CDK which stacks to bundle (`[]`: none, so no cargo-lambda or Docker). */
export const BUNDLING_STACKS = 'aws:cdk:bundling-stacks';
export const DEFAULT_CONFIG = '../config/sample-store.toml';

/** The repository root: the first ancestor of this file holding both Cargo.toml and infra/. */
export function repoRoot(start: string = __dirname): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'Cargo.toml')) && existsSync(join(dir, 'infra'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no repository root (Cargo.toml + infra/) above ${start}`);
    dir = parent;
  }
}

function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'boolean') return value;
  return !['false', '0', 'no', 'off'].includes(String(value).toLowerCase());
}

export interface BuiltApp {
  readonly app: App;
  readonly stack: TidingsStack;
}

/**
 * Context (all optional; `-c key=value`):
 *   config                      store TOML, relative to infra/ (default ../config/sample-store.toml)
 *   stackName                   default Tidings
 *   useDefaultBus               true: the account's default bus instead of a custom one
 *   alarmEmail                  default: the config's sender.reply_to
 *   createSesIdentity           false: the domain is already an SES identity in this account/region
 *   unsubscribe                 true/false: force the unsubscribe function on/off (default: functions/unsubscribe exists)
 *   webhooksReservedConcurrency default 5; 0 on accounts whose concurrency quota is 10
 *   skipBundling                true: do not build the Rust functions (synth only; not deployable)
 */
export function buildApp(props: AppProps = {}): BuiltApp {
  const app = new App(props);
  const ctx = (key: string): unknown => app.node.tryGetContext(key);
  if (flag(ctx('skipBundling'), false)) {
    app.node.setContext(BUNDLING_STACKS, []);
  }

  const root = repoRoot();
  const infraDir = join(root, 'infra');
  const configArg = String(ctx('config') ?? DEFAULT_CONFIG);
  const config = loadStoreConfig(isAbsolute(configArg) ? configArg : resolve(infraDir, configArg));

  const unsubscribe = ctx('unsubscribe');
  const webhooksReserved = ctx('webhooksReservedConcurrency');
  const stack = new TidingsStack(app, String(ctx('stackName') ?? 'Tidings'), {
    description: `tidings lifecycle emails for ${config.storeName}`,
    config,
    repoRoot: root,
    useDefaultBus: flag(ctx('useDefaultBus'), false),
    alarmEmail: ctx('alarmEmail') ? String(ctx('alarmEmail')) : undefined,
    createSesIdentity: flag(ctx('createSesIdentity'), true),
    unsubscribeFunction: unsubscribe === undefined ? undefined : flag(unsubscribe, false),
    webhooksReservedConcurrency: webhooksReserved === undefined ? undefined : Number(webhooksReserved),
  });

  const bundled = app.node.tryGetContext(BUNDLING_STACKS);
  if (Array.isArray(bundled) && bundled.length === 0) {
    Annotations.of(stack).addWarningV2(
      'tidings:bundling-skipped',
      'The Rust functions were not built (bundling skipped): this assembly is for inspection and tests only; ' +
        'deploy without skipBundling.',
    );
  }

  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true, logIgnores: process.env.NAG_LOG_IGNORES === "1" }));
  Aspects.of(app).add(new ServerlessChecks({ verbose: true, logIgnores: process.env.NAG_LOG_IGNORES === "1" }));
  return { app, stack };
}
