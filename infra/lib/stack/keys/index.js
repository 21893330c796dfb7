// The stack's custom resources, one function: the FollowUpAlarms resource (startAlarmSetter,
// below) and the Keys custom resource (lib/stack/keys.ts), which makes sure each HMAC key of the stack exists as an
// SSM SecureString, without its value ever being in the template, its parameters or a log line.
//
// For each key, in this order:
//   kept       the parameter exists: left as it is (every later deployment);
//   copied     a deployment from before the keys moved to SSM: the value of the Secrets Manager
//              secret the stack created under the key's old logical id, unchanged (tokens already
//              mailed and guests' pseudonyms stay valid);
//   generated  a new stack: 36 random bytes, base64url (48 characters).
// The parameter is written with Overwrite false, so a retried or concurrent request can only keep
// the first value. Deleting the resource (or the stack) leaves the parameters: the guest-id key must
// outlive the stack, and a signing key left behind costs nothing.
'use strict';
const { randomBytes } = require('node:crypto');

/** Makes sure `key` ({ name, legacy?, description }) exists; says which of the three it did. */
async function ensureKey(clients, stackId, key) {
  const { GetParameterCommand, PutParameterCommand } = clients.ssmCommands;
  try {
    await clients.ssm.send(new GetParameterCommand({ Name: key.name }));
    return 'kept';
  } catch (error) {
    if (error.name !== 'ParameterNotFound') throw error;
  }
  const legacy = key.legacy === undefined ? undefined : await legacySecret(clients, stackId, key.legacy);
  const value = legacy ?? randomBytes(36).toString('base64url');
  try {
    await clients.ssm.send(
      new PutParameterCommand({
        Name: key.name,
        Value: value,
        Type: 'SecureString',
        Overwrite: false,
        Description: key.description,
      }),
    );
  } catch (error) {
    if (error.name === 'ParameterAlreadyExists') return 'kept';
    throw error;
  }
  return legacy === undefined ? 'generated' : 'copied';
}

/** The value of the secret this stack holds under `logicalId`, or undefined when it holds none. */
async function legacySecret(clients, stackId, logicalId) {
  const { DescribeStackResourceCommand } = clients.cloudformationCommands;
  let physicalId;
  try {
    const found = await clients.cloudformation.send(
      new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }),
    );
    physicalId = found.StackResourceDetail?.PhysicalResourceId;
  } catch (error) {
    // Only "no such resource" means a stack that never had the secret; anything else (throttling,
    // access) must fail the deployment rather than replace a key that exists.
    if (error.name === 'ValidationError' && (error.message ?? '').includes(`Resource ${logicalId} does not exist`)) {
      return undefined;
    }
    throw error;
  }
  if (!physicalId) return undefined;
  const { GetSecretValueCommand } = clients.secretsCommands;
  const secret = await clients.secrets.send(new GetSecretValueCommand({ SecretId: physicalId }));
  if (typeof secret.SecretString !== 'string' || secret.SecretString.trim() === '') {
    throw new Error(`${logicalId}: the secret has no string value`);
  }
  return secret.SecretString;
}

/**
 * The FollowUpAlarms resource (lib/stack/follow-ups.ts): starts the alarm setter (the
 * follow-up-sweeper function) without waiting for it; on a large table it runs for minutes, and a
 * failure of its own reaches the failures queue. Only on Create and on a new `Migration`.
 */
async function startAlarmSetter(clients, properties) {
  const { InvokeCommand } = clients.lambdaCommands;
  const answer = await clients.lambda.send(
    new InvokeCommand({
      FunctionName: properties.FunctionName,
      InvocationType: 'Event',
      Payload: JSON.stringify({ settle_seconds: Number(properties.SettleSeconds ?? 0) }),
    }),
  );
  if (answer.StatusCode !== 202) throw new Error(`the alarm setter was not started (status ${answer.StatusCode})`);
  return 'started';
}

/** The Lambda client the FollowUpAlarms resource starts the alarm setter with. */
function lambdaClient() {
  const lambda = require('@aws-sdk/client-lambda');
  return { lambda: new lambda.LambdaClient({}), lambdaCommands: lambda };
}

/** Whether an update changes what the FollowUpAlarms resource runs for. */
function newMigration(event) {
  return event.RequestType === 'Create' || event.OldResourceProperties?.Migration !== event.ResourceProperties.Migration;
}

/** The clients of the Lambda's own SDK (Node.js runtimes ship AWS SDK v3). */
function lambdaClients() {
  const ssm = require('@aws-sdk/client-ssm');
  const cloudformation = require('@aws-sdk/client-cloudformation');
  const secrets = require('@aws-sdk/client-secrets-manager');
  return {
    ssm: new ssm.SSMClient({}),
    ssmCommands: ssm,
    cloudformation: new cloudformation.CloudFormationClient({}),
    cloudformationCommands: cloudformation,
    secrets: new secrets.SecretsManagerClient({}),
    secretsCommands: secrets,
  };
}

/** The custom resources' handler: answers CloudFormation itself, also when something failed. */
function handler(event, context) {
  return handle(event, context);
}

/** `handler`, with the clients given (tests) rather than made from the Lambda's own SDK. */
async function handle(event, context, clients = undefined) {
  const alarms = event.ResourceType === 'Custom::TidingsFollowUpAlarms';
  const physicalId = alarms ? 'tidings-follow-up-alarms' : 'tidings-keys';
  let status = 'SUCCESS';
  let reason = 'done';
  try {
    if (alarms) {
      if (event.RequestType !== 'Delete' && newMigration(event)) {
        const started = await startAlarmSetter(clients ?? lambdaClient(), event.ResourceProperties);
        console.log(JSON.stringify({ alarmSetter: started, migration: event.ResourceProperties.Migration }));
      }
    } else if (event.RequestType !== 'Delete') {
      clients = clients ?? lambdaClients();
      const done = {};
      for (const key of event.ResourceProperties.Keys) {
        done[key.name] = await ensureKey(clients, event.StackId, key);
      }
      // Names and what was done, never a value.
      console.log(JSON.stringify({ keys: done }));
    }
  } catch (error) {
    console.error(JSON.stringify({ failed: error.name, message: error.message }));
    status = 'FAILED';
    reason = `${error.name}: ${error.message} (log stream ${context.logStreamName})`;
  }
  await respond(event, { Status: status, Reason: reason, PhysicalResourceId: event.PhysicalResourceId ?? physicalId });
}

/** PUTs the answer to CloudFormation's presigned URL. */
function respond(event, answer) {
  const body = JSON.stringify({
    ...answer,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    NoEcho: true,
  });
  const url = new URL(event.ResponseURL);
  // CloudFormation's URL is https; a test's stand-in is http.
  const transport = require(url.protocol === 'http:' ? 'node:http' : 'node:https');
  return new Promise((resolve, reject) => {
    const request = transport.request(
      {
        hostname: url.hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'PUT',
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', resolve);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

module.exports = { handler, handle, ensureKey, startAlarmSetter };
