// SES: the domain identity, the two configuration sets (their events go to the default bus), the
// right to send as the store, SES events onto the store bus, and account-level reputation alarms.
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { StoreConfig } from '../config';
import { RULE_RETRY } from '../sizing';
import { alarm } from './alarms';
import { Buses } from './bus';
import { StackContext } from './context';

/** SES v2 event types forwarded to the bus from both configuration sets. */
const SES_EVENTS = [
  ses.EmailSendingEvent.SEND,
  ses.EmailSendingEvent.REJECT,
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.DELIVERY_DELAY,
  ses.EmailSendingEvent.OPEN,
  ses.EmailSendingEvent.CLICK,
  ses.EmailSendingEvent.SUBSCRIPTION,
];

export interface Mail {
  readonly transactional: ses.ConfigurationSet;
  readonly marketing: ses.ConfigurationSet;
  /** The domain identity. */
  readonly identityArn: string;
  /** The from address, in case it is also a verified identity. */
  readonly addressIdentityArn: string;
  readonly configurationSetArns: string[];
}

export function createMail(ctx: StackContext, defaultBus: events.IEventBus): Mail {
  const { stack, props } = ctx;
  const { config } = props;
  const identityArn = stack.formatArn({ service: 'ses', resource: 'identity', resourceName: config.domain });
  // If the from address itself is also a verified identity, SES authorises against it instead.
  const addressIdentityArn = stack.formatArn({
    service: 'ses',
    resource: 'identity',
    resourceName: config.fromAddress,
  });
  if (props.createSesIdentity ?? true) {
    const identity = new ses.EmailIdentity(stack, 'Identity', {
      identity: ses.Identity.domain(config.domain), // Easy DKIM (RSA 2048) by default
    });
    identity.dkimRecords.forEach((record, i) => {
      new CfnOutput(stack, `DkimRecord${i + 1}`, {
        description: `DNS CNAME to publish for Easy DKIM of ${config.domain}`,
        value: `${record.name} CNAME ${record.value}`,
      });
    });
  }
  const transactional = configurationSet(ctx, 'Transactional', 'transactional', defaultBus);
  const marketing = configurationSet(ctx, 'Marketing', 'marketing', defaultBus);
  ctx.envValues['configurationSet:transactional'] = transactional.configurationSetName;
  ctx.envValues['configurationSet:marketing'] = marketing.configurationSetName;
  const configurationSetArns = [transactional, marketing].map((c) =>
    stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: c.configurationSetName }),
  );
  return { transactional, marketing, identityArn, addressIdentityArn, configurationSetArns };
}

/** A configuration set whose sending events go to the default bus (the only bus SES accepts). */
function configurationSet(
  ctx: StackContext,
  id: string,
  category: string,
  defaultBus: events.IEventBus,
): ses.ConfigurationSet {
  const set = new ses.ConfigurationSet(ctx.stack, id, {
    configurationSetName: `${ctx.stack.stackName}-${category}`,
    reputationMetrics: true,
    suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
  });
  set.addEventDestination('ToEventBridge', {
    destination: ses.EventDestination.eventBus(defaultBus),
    events: SES_EVENTS,
  });
  return set;
}

/** Sending as the store: the identity and the two configuration sets, from the configured address only. */
export function grantSendAsTheStore(role: iam.Role, mail: Mail, config: StoreConfig): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'SendAsTheStore',
      actions: ['ses:SendEmail', 'ses:SendRawEmail'],
      resources: [mail.identityArn, mail.addressIdentityArn, ...mail.configurationSetArns],
      conditions: { StringEquals: { 'ses:FromAddress': config.fromAddress } },
    }),
  );
}

/** SES events of the two configuration sets, from the default bus onto the store bus (a custom one). */
export function forwardSesEvents(ctx: StackContext, buses: Buses, mail: Mail): void {
  const forward = new events.Rule(ctx.stack, 'SesEventsToBus', {
    eventBus: buses.defaultBus,
    description: 'Forward SES events of the tidings configuration sets to the tidings bus',
    eventPattern: {
      source: ['aws.ses'],
      detail: {
        mail: {
          tags: {
            'ses:configuration-set': [mail.transactional.configurationSetName, mail.marketing.configurationSetName],
          },
        },
      },
    },
    targets: [new targets.EventBus(buses.bus, { deadLetterQueue: ctx.deadLetters })],
  });
  ctx.rules.push(forward);
  // The EventBus target of CDK takes no retry policy; EventBridge accepts one for every target.
  (forward.node.defaultChild as events.CfnRule).addPropertyOverride('Targets.0.RetryPolicy', {
    MaximumEventAgeInSeconds: RULE_RETRY.maxEventAge.toSeconds(),
    MaximumRetryAttempts: RULE_RETRY.retryAttempts,
  });
}

/** Account-level SES reputation. */
export function sesReputationAlarms(ctx: StackContext): void {
  alarm(ctx, 'SesBounceRate', {
    alarmDescription: 'SES bounce rate above 5% (SES reviews the account at 5% and may pause sending at 10%)',
    metric: new cloudwatch.Metric({
      namespace: 'AWS/SES',
      metricName: 'Reputation.BounceRate',
      statistic: 'Maximum',
      period: Duration.hours(1),
    }),
    threshold: 0.05,
  });
  alarm(ctx, 'SesComplaintRate', {
    alarmDescription:
      'SES complaint rate above 0.1% (SES reviews the account at 0.1% and may pause sending at 0.5%)',
    metric: new cloudwatch.Metric({
      namespace: 'AWS/SES',
      metricName: 'Reputation.ComplaintRate',
      statistic: 'Maximum',
      period: Duration.hours(1),
    }),
    threshold: 0.001,
  });
}
