// SES: identity, configuration sets, their events and the function that consumes them.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SES_FEEDBACK, TidingsStack } from '../lib/tidings-stack';
import { asArray, keyStatementsOf, logicalId, parameterNames, resources, statementsOf, synthDefault, synthOtherStore } from './helpers';

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
  });

  test('SES: domain identity with Easy DKIM, two configuration sets sending their events to the default bus', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'shop.example',
      DkimAttributes: Match.absent(),
    });
    template.resourceCountIs('AWS::SES::ConfigurationSet', 2);
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'Tidings-transactional' });
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'Tidings-marketing' });
    const destinations = Object.values(resources(template, 'AWS::SES::ConfigurationSetEventDestination'));
    expect(destinations).toHaveLength(2);
    for (const d of destinations) {
      const dest = d.Properties.EventDestination;
      expect(dest.Enabled).toBe(true);
      expect(JSON.stringify(dest.EventBridgeDestination.EventBusArn)).toContain(':event-bus/default');
      expect(dest.MatchingEventTypes).toEqual(
        expect.arrayContaining(['bounce', 'complaint', 'delivery', 'open', 'click', 'reject', 'deliveryDelay', 'send']),
      );
    }
  });

  test('SES events of the two configuration sets are forwarded from the default bus to the tidings bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: {
        source: ['aws.ses'],
        detail: {
          mail: {
            tags: {
              'ses:configuration-set': [
                { Ref: logicalId(stack, stack.node.findChild('Transactional') as any) },
                { Ref: logicalId(stack, stack.node.findChild('Marketing') as any) },
              ],
            },
          },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack, stack.bus as any), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
          RetryPolicy: Match.anyValue(),
        }),
      ],
    });
  });

  test('ses-events: consumes SES events on the tidings bus, announces sends, may not send mail or read the signing key', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ses'], 'detail-type': Match.arrayWith(['Email Bounced', 'Email Complaint Received']) },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, stack.functions[SES_FEEDBACK]), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ses'], 'detail-type': Match.arrayWith(['Email Sent']) },
    });
    const own = statementsOf(template, stack, SES_FEEDBACK);
    const actions = own.flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => /^(ses|events):/.test(a))).toEqual(['events:PutEvents']);
    // Only the guest-id key: tags of mail an earlier release sent name guests by address.
    expect(keyStatementsOf(template, stack, SES_FEEDBACK).map(parameterNames)).toEqual([
      [`/tidings/${stack.stackName}/guest-id-key`],
    ]);
  });
});

describe('variant: another store on the default bus, existing SES identity, unsubscribe function', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthOtherStore());
  });

  test('an existing SES identity is not created again', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
  });
});
