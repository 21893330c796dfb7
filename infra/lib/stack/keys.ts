// The two generated secrets (the signing key and the guest-id key), and read access to the
// SecureStrings the merchant creates in SSM (API credentials, webhook secrets).
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { StackContext } from './context';

export interface Keys {
  readonly signingKey: secretsmanager.Secret;
  readonly guestIdKey: secretsmanager.Secret;
}

export function createKeys(ctx: StackContext): Keys {
  const signingKey = new secretsmanager.Secret(ctx.stack, 'SigningKey', {
    description: 'tidings: HMAC key for coupon codes and unsubscribe tokens',
    generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
  });
  ctx.envValues.signingKeySecretArn = signingKey.secretArn;
  NagSuppressions.addResourceSuppressions(signingKey, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'The HMAC key signs coupon codes and unsubscribe links that must stay valid for months; it is ' +
        'rotated by hand by writing {"current": new, "previous": old}, which the functions accept, ' +
        'instead of by a rotation Lambda that would invalidate links already sent.',
    },
  ]);

  // Guests are keyed by a keyed hash of their address; changing this key would change every
  // guest's key, so it is never rotated and outlives the stack.
  const guestIdKey = new secretsmanager.Secret(ctx.stack, 'GuestIdKey', {
    description: 'tidings: HMAC key of guest pseudonyms (never rotated)',
    generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  ctx.envValues.guestIdKeySecretArn = guestIdKey.secretArn;
  NagSuppressions.addResourceSuppressions(guestIdKey, [
    {
      id: 'AwsSolutions-SMG4',
      reason:
        'Guest customer ids are keyed by an HMAC of the address under this key; rotating it would ' +
        're-key every guest and lose their claims and consent, so it is never rotated.',
    },
  ]);
  return { signingKey, guestIdKey };
}

/** The signing key and the guest-id key, which every function that reads tokens needs. */
export function grantSigningKey(role: iam.Role, sid: string, keys: Keys): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid,
      actions: ['secretsmanager:GetSecretValue'],
      resources: [keys.signingKey.secretArn, keys.guestIdKey.secretArn],
    }),
  );
}

export function grantGuestIdKey(role: iam.Role, sid: string, keys: Keys): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid, actions: ['secretsmanager:GetSecretValue'], resources: [keys.guestIdKey.secretArn] }),
  );
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
      // The names start with `/` (config.ts checks it); the ARN is `parameter/<name without it>`.
      resources: names.map((name) =>
        ctx.stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.slice(1) }),
      ),
    }),
  );
}
