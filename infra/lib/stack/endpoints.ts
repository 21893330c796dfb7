// The unsubscribe function behind a public Function URL (RFC 8058 one-click unsubscribe).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { STEP_TABLE_ACTIONS, UNSUBSCRIBE } from '../routing';
import { STEP_MEMORY_MB, STEP_TIMEOUT } from '../sizing';
import { grantPutEvents } from './bus';
import { Shared, StackContext } from './context';
import { grantAlarms } from './follow-ups';
import { grantSigningKey } from './keys';
import { rustFunction } from './lambda';
import { grantTable } from './table';

/**
 * The unsubscribe function and its URL (`envValues.unsubscribeUrl`, so created before the steps that
 * link to it), or, without it, an output saying what the links use instead.
 */
export function createUnsubscribe(ctx: StackContext, { table, buses, keys, alarms }: Shared): void {
  const { stack, props } = ctx;
  const withUnsubscribe = props.unsubscribeFunction ?? existsSync(join(props.repoRoot, 'functions', UNSUBSCRIBE));
  if (withUnsubscribe) {
    const built = rustFunction(ctx, UNSUBSCRIBE, {
      memorySize: STEP_MEMORY_MB,
      timeout: STEP_TIMEOUT,
      description: 'tidings: one-click unsubscribe (RFC 8058) behind a Function URL',
      invokedAsynchronously: false,
    });
    grantTable(built.role, 'UnsubscribeTable', [table.table.tableArn, table.customerIndexArn], STEP_TABLE_ACTIONS);
    grantPutEvents(built.role, 'UnsubscribePutEvents', buses.bus);
    grantSigningKey(built.role, 'UnsubscribeSigningKey', keys);
    grantAlarms(built.role, 'UnsubscribeAlarms', alarms);
    // Auth NONE on purpose: RFC 8058 one-click unsubscribe means mailbox providers POST to the link
    // without credentials; every request carries an HMAC-signed token the function verifies.
    const url = built.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    // UNSUBSCRIBE_URL of the functions that link to it (infra/functions.json).
    ctx.envValues.unsubscribeUrl = url.url;
    new CfnOutput(stack, 'UnsubscribeUrl', {
      description: 'The unsubscribe Function URL (passed to the step functions as UNSUBSCRIBE_URL)',
      value: url.url,
    });
  } else {
    // A stack deployed without functions/unsubscribe (props.unsubscribeFunction = false): links
    // use sender.unsubscribe_url from the configuration, a page the merchant hosts.
    new CfnOutput(stack, 'UnsubscribeUrl', {
      description: 'No unsubscribe function in this stack: links use sender.unsubscribe_url',
      value: props.config.unsubscribeUrl ?? 'none',
    });
  }
}
