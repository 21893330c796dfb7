// The whole stack: cdk-nag and what comes from the store configuration.
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import { STEPS, TidingsStack } from '../lib/tidings-stack';
import { NAG, asArray, envOf, statementsOf, synthDefault, synthOtherStore } from './helpers';

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  beforeAll(() => {
    ({ stack } = synthDefault());
  });

  test('cdk-nag (AwsSolutions and Serverless packs) reports no unsuppressed error or warning', () => {
    const errors = Annotations.fromStack(stack).findError('*', NAG);
    expect(errors.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    const warnings = Annotations.fromStack(stack).findWarning('*', NAG);
    expect(warnings.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
  });
});

describe('variant: another store on the default bus, existing SES identity, unsubscribe function', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthOtherStore());
  });

  test('cdk-nag reports no unsuppressed error', () => {
    expect(Annotations.fromStack(stack).findError('*', NAG).map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
  });

  test('everything store-specific comes from the configuration file', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['shopify.other', 'backfill.other'], 'detail-type': STEPS[0].detailTypes },
    });
    const ses = statementsOf(template, stack, 'customer').find((s) => asArray<string>(s.Action).includes('ses:SendEmail'));
    expect(ses.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'news@mail.other.example' } });
    expect(JSON.stringify(ses.Resource)).toContain(':identity/mail.other.example"');
    expect(envOf(template, stack, 'customer').STORE_CONFIG).toContain('news@mail.other.example');
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@other.example' });
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'OtherStore-marketing' });
  });
});
