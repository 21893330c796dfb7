// The stack's two HMAC keys (the signing key and the guest-id key) as SSM SecureStrings, and read
// access to the SecureStrings the merchant creates (API credentials, webhook secrets).
//
// CloudFormation cannot create a SecureString, and a key must never be in the template or its
// parameters: the `Keys` custom resource (keys/index.js) generates each key inside the account, or,
// on a stack deployed before the keys moved here, copies the Secrets Manager secret the stack held
// under the key's old logical id, unchanged. Standard parameters cost nothing; a secret $0.40 a month.
import { ArnFormat, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { LOG_RETENTION } from '../sizing';
import { join } from 'node:path';
import { StackContext } from './context';

export interface Keys {
  /** The SecureString of the HMAC key of coupon codes and unsubscribe tokens. */
  readonly signingKeyParameter: string;
  /** The SecureString of the key guests' pseudonyms are made with (never rotated). */
  readonly guestIdKeyParameter: string;
  /** The custom resource that makes sure both exist: functions that read them wait for it. */
  readonly resource: CustomResource;
  /** Its Node.js function (not one of the stack's Rust functions). */
  readonly provider: lambda.Function;
}

/** The logical ids of the Secrets Manager secrets of stacks deployed before the keys moved to SSM. */
export const LEGACY_SECRETS = { signingKey: 'SigningKeyEEFC2790', guestIdKey: 'GuestIdKey40D306DC' } as const;

const RESOURCE_TYPE = 'Custom::TidingsKeys';

export function createKeys(ctx: StackContext): Keys {
  const stack = ctx.stack;
  const signingKeyParameter = `/tidings/${stack.stackName}/signing-key`;
  const guestIdKeyParameter = `/tidings/${stack.stackName}/guest-id-key`;
  // A function of its own rather than the CDK's provider framework, whose roles carry the
  // AWSLambdaBasicExecutionRole managed policy (logs on "*"): this one writes to its own group only.
  const functionName = `${stack.stackName}-keys`;
  const logGroup = new logs.LogGroup(stack, 'KeysLogs', {
    logGroupName: `/aws/lambda/${functionName}`,
    retention: LOG_RETENTION,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(stack, 'KeysRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'tidings keys',
  });
  logGroup.grantWrite(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'KeysParameters',
      actions: ['ssm:GetParameter', 'ssm:PutParameter'],
      resources: [signingKeyParameter, guestIdKeyParameter].map((name) => parameterArn(stack, name)),
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: 'KeysStack', actions: ['cloudformation:DescribeStackResource'], resources: [stack.stackId] }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'KeysOldSecrets',
      actions: ['secretsmanager:GetSecretValue'],
      // CloudFormation names a secret it was given no name for `<logical id>-<12 random>`; the
      // ARN adds `-<6 random>`.
      resources: Object.values(LEGACY_SECRETS).map((logicalId) =>
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${logicalId}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    }),
  );
  const provider = new lambda.Function(stack, 'KeysFunction', {
    functionName,
    description: 'tidings: creates the HMAC keys as SSM SecureStrings (or copies the old secrets)',
    runtime: lambda.determineLatestNodeRuntime(stack),
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(join(__dirname, 'keys')),
    memorySize: 256,
    timeout: Duration.minutes(1),
    role,
    logGroup,
  });
  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'A secret CloudFormation named has a random suffix known only at deploy time; the prefix is the logical id of the old secret, read once to copy it.',
        appliesTo: Object.values(LEGACY_SECRETS).map(
          (logicalId) => `Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${logicalId}-*`,
        ),
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(provider, [
    {
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked synchronously by CloudFormation, which receives the failure and rolls the deployment back.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason: 'Runs once per deployment; a trace would add a Resource:* policy for nothing.',
    },
  ]);
  const resource = new CustomResource(stack, 'Keys', {
    serviceToken: provider.functionArn,
    resourceType: RESOURCE_TYPE,
    properties: {
      Keys: [
        {
          name: signingKeyParameter,
          legacy: LEGACY_SECRETS.signingKey,
          description: 'tidings: HMAC key of coupon codes and unsubscribe tokens ({"current","previous"} to rotate)',
        },
        {
          name: guestIdKeyParameter,
          legacy: LEGACY_SECRETS.guestIdKey,
          description: 'tidings: HMAC key of guest pseudonyms (never rotate it)',
        },
      ],
    },
  });
  ctx.envValues.signingKeyParameter = signingKeyParameter;
  ctx.envValues.guestIdKeyParameter = guestIdKeyParameter;
  return { signingKeyParameter, guestIdKeyParameter, resource, provider };
}

/** The signing key and the guest-id key, which every function that reads tokens needs. */
export function grantSigningKey(role: iam.Role, sid: string, keys: Keys): void {
  grantKeys(role, sid, keys, [keys.signingKeyParameter, keys.guestIdKeyParameter]);
}

export function grantGuestIdKey(role: iam.Role, sid: string, keys: Keys): void {
  grantKeys(role, sid, keys, [keys.guestIdKeyParameter]);
}

/** `ssm:GetParameters` (both keys in one call at init) on `names`; the function waits for them. */
function grantKeys(role: iam.Role, sid: string, keys: Keys, names: string[]): void {
  const stack = Stack.of(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid, actions: ['ssm:GetParameters'], resources: names.map((n) => parameterArn(stack, n)) }),
  );
  // Created or copied before any function that reads them is updated to read them.
  role.node.addDependency(keys.resource);
}

/**
 * `ssm:GetParameter` on these parameters only. The merchant creates them (a secret value must not
 * be in the template) as SecureStrings under the AWS-managed key `aws/ssm`, whose key policy lets
 * principals of the account decrypt through SSM: no KMS grant is needed.
 */
export function grantParameters(ctx: StackContext, role: iam.Role, sid: string, names: string[]): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid,
      actions: ['ssm:GetParameter'],
      resources: names.map((name) => parameterArn(ctx.stack, name)),
    }),
  );
}

/** The ARN of the parameter `name` (names start with `/`; the ARN is `parameter/<name without it>`). */
function parameterArn(stack: Stack, name: string): string {
  return stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.slice(1) });
}
