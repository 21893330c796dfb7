// Event routing: the buses, the rules of each step, their retries and dead letters.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SES_DETAIL_TYPES, SES_FEEDBACK, STEPS, TidingsStack } from '../lib/tidings-stack';
import { loadFunctions } from '../lib/functions';
import { ROOT, asArray, envOf, logicalId, resources, statementsOf, synthDefault, synthOtherStore } from './helpers';

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthDefault());
  });

  test("each step's rule matches the detailTypes of infra/functions.json (Rust's event::routing)", () => {
    const file = loadFunctions(ROOT);
    const rules = Object.values(resources(template, 'AWS::Events::Rule')).map((r: any) => r.Properties);
    for (const step of STEPS) {
      expect(step.detailTypes).toEqual(file[step.name].detailTypes);
      const own = rules.filter((r) => JSON.stringify(r.EventPattern?.['detail-type']) === JSON.stringify(step.detailTypes));
      expect(own).toHaveLength(1);
    }
    expect(STEPS.map((s) => s.name)).toEqual(['customer', 'order-confirmed', 'order-shipped', 'order-delivered', 'cart-abandoned']);
    expect(SES_DETAIL_TYPES).toContain('Email Bounced');
  });

  test('a custom bus; per step one rule for its store events (config sources) and one for its FollowUpDue', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const busRef = { Ref: logicalId(stack, stack.bus as any) };
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    for (const step of STEPS) {
      const fnArn = { 'Fn::GetAtt': [logicalId(stack, stack.functions[step.name]), 'Arn'] };
      const toStep = rules.filter((r) => r.Properties.Targets.some((t: any) => JSON.stringify(t.Arn) === JSON.stringify(fnArn)));
      expect(toStep.map((r) => r.Properties.EventPattern)).toEqual(
        expect.arrayContaining([
          { source: ['shop.example'], 'detail-type': step.detailTypes },
          { source: ['tidings'], 'detail-type': ['FollowUpDue'], detail: { step: [step.name] } },
        ]),
      );
      expect(toStep).toHaveLength(2);
      for (const rule of toStep) expect(rule.Properties.EventBusName).toEqual(busRef);
    }
  });

  test('no scheduled rule: nothing runs on a clock (follow-ups have alarms instead)', () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    expect(rules.filter((r) => r.Properties.ScheduleExpression !== undefined)).toEqual([]);
  });

  test('every rule target has a dead-letter queue and a retry policy', () => {
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    expect(rules.length).toBe(STEPS.length * 2 + 3); // + SES forwarding + SES feedback + AttentionNeeded
    for (const rule of rules) {
      for (const target of rule.Properties.Targets) {
        expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
        expect(target.RetryPolicy).toEqual({
          MaximumEventAgeInSeconds: expect.any(Number),
          MaximumRetryAttempts: expect.any(Number),
        });
      }
    }
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['shop.example'] },
      Targets: [Match.objectLike({ RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 } })],
    });
  });
});

describe('variant: another store on the default bus, existing SES identity, unsubscribe function', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthOtherStore());
  });

  test('default bus: no custom bus, no forwarding rule, rules and PutEvents on the default bus', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    const rules = Object.values(resources(template, 'AWS::Events::Rule'));
    // SES events arrive on the default bus directly: consumed there, no forwarding rule.
    const ses = rules.filter((r) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('aws.ses'));
    expect(ses).toHaveLength(1);
    expect(JSON.stringify(ses[0].Properties.Targets)).toContain(logicalId(stack, stack.functions[SES_FEEDBACK]));
    for (const rule of rules) expect(rule.Properties.EventBusName ?? 'default').toBe('default');
    expect(envOf(template, stack, 'customer').EVENT_BUS_NAME).toBe('default');
    const put = statementsOf(template, stack, SES_FEEDBACK).find((s) => asArray<string>(s.Action).includes('events:PutEvents'));
    expect(JSON.stringify(put.Resource)).toContain(':event-bus/default');
  });
});
