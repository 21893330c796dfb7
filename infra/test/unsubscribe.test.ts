// The unsubscribe function and its Function URL, or the configured link without it.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { STEPS, TidingsStack, UNSUBSCRIBE } from '../lib/tidings-stack';
import {
  asArray,
  envOf,
  expectEnvironmentsOfTheFile,
  logicalId,
  resources,
  statementsOf,
  synthDefault,
  synthOtherStore,
} from './helpers';

describe('default deployment (custom bus, sample store, no unsubscribe function yet)', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = synthDefault());
  });

  test('without functions/unsubscribe there is no Function URL, and the output says what to do', () => {
    template.resourceCountIs('AWS::Lambda::Url', 0);
    template.hasOutput('UnsubscribeUrl', {
      Value: 'https://shop.example/unsubscribe',
      Description: Match.stringLikeRegexp('sender.unsubscribe_url'),
    });
  });
});

describe('variant: another store on the default bus, existing SES identity, unsubscribe function', () => {
  let stack: TidingsStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthOtherStore());
  });

  test('unsubscribe: arm64 function with a public Function URL passed to every step as UNSUBSCRIBE_URL', () => {
    const fn = stack.functions[UNSUBSCRIBE];
    expect(fn).toBeDefined();
    const props = resources(template, 'AWS::Lambda::Function')[logicalId(stack, fn)].Properties;
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Runtime).toBe('provided.al2023');
    const urls = resources(template, 'AWS::Lambda::Url');
    expect(Object.values(urls)).toEqual([
      expect.objectContaining({
        Properties: { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [logicalId(stack, fn), 'Arn'] } },
      }),
    ]);
    const urlId = Object.keys(urls)[0];
    for (const step of STEPS) {
      expect(envOf(template, stack, step.name).UNSUBSCRIBE_URL).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    }
    template.hasOutput('UnsubscribeUrl', { Value: { 'Fn::GetAtt': [urlId, 'FunctionUrl'] } });
  });

  test('every function gets exactly the environment of infra/functions.json, UNSUBSCRIBE_URL included', () => {
    expectEnvironmentsOfTheFile(template, stack, true);
  });

  test('unsubscribe has no SES permission', () => {
    const actions = statementsOf(template, stack, UNSUBSCRIBE).flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => a.startsWith('ses:'))).toEqual([]);
  });
});
