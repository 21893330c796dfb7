import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { loadStoreConfig, parseStoreConfig, storeConfigEnvValue } from '../lib/config';
import { SAMPLE_CONFIG, SHOPIFY_EVENT_SOURCE, shopifyTable } from './helpers';

const SAMPLE = readFileSync(SAMPLE_CONFIG, 'utf8');

describe('store configuration', () => {
  test('the sample store gives sender, domain, sources and alarm address', () => {
    const config = loadStoreConfig(SAMPLE_CONFIG);
    expect(config.sources).toEqual(['shop.example']);
    expect(config.fromAddress).toBe('hello@shop.example');
    expect(config.domain).toBe('shop.example');
    expect(config.replyTo).toBe('help@shop.example');
    expect(config.unsubscribeUrl).toBe('https://shop.example/unsubscribe');
    expect(config.raw).toBe(SAMPLE);
  });

  test.each([
    ['no sources', SAMPLE.replace('sources = ["shop.example"]', ''), /sources must be a non-empty array/],
    ['empty sources', SAMPLE.replace('sources = ["shop.example"]', 'sources = []'), /sources must be a non-empty array/],
    ['tidings as a source', SAMPLE.replace('sources = ["shop.example"]', 'sources = ["tidings"]'), /must not contain "tidings"/],
    ['a display name in from_address', SAMPLE.replace('"hello@shop.example"', '"Maple <hello@shop.example>"'), /not a plain address/],
    ['no reply_to', SAMPLE.replace('reply_to = "help@shop.example"', ''), /sender.reply_to must be a non-empty string/],
    ['broken TOML', `${SAMPLE}\n[store\n`, /not valid TOML/],
  ])('refuses a configuration with %s', (_name, raw, message) => {
    expect(() => parseStoreConfig(raw, 'store.toml')).toThrow(message);
  });

  test('without [shopify] there is no Shopify store', () => {
    expect(parseStoreConfig(SAMPLE).shopify).toBeUndefined();
  });

  test('[shopify] gives the shop, its event source and the credentials parameter (default /tidings/shopify/credentials)', () => {
    expect(parseStoreConfig(SAMPLE + shopifyTable()).shopify).toEqual({
      shop: 'maple-moss.myshopify.com',
      eventSource: SHOPIFY_EVENT_SOURCE,
      apiVersion: undefined,
      credentialsParameter: '/tidings/shopify/credentials',
    });
    const custom = parseStoreConfig(SAMPLE + shopifyTable('api_version = "2025-10"\ncredentials_parameter = "/maple/shopify"\n'));
    expect(custom.shopify).toMatchObject({ apiVersion: '2025-10', credentialsParameter: '/maple/shopify' });
  });

  const withShopify = (table: string): string => `${SAMPLE}\n[shopify]\n${table}\n`;
  const SOURCE = `event_source = "${SHOPIFY_EVENT_SOURCE}"`;
  test.each([
    ['no shop', withShopify(SOURCE), /shopify.shop must be a non-empty string/],
    ['a shop not on myshopify.com', withShopify(`shop = "shop.example"\n${SOURCE}`), /shopify.shop "shop.example" must be <shop>.myshopify.com/],
    ['a shop with a path', withShopify(`shop = "a/b.myshopify.com"\n${SOURCE}`), /must be <shop>.myshopify.com/],
    ['no event_source', withShopify('shop = "maple-moss.myshopify.com"'), /shopify.event_source is missing/],
    [
      'an event_source that is no Shopify partner source',
      withShopify('shop = "maple-moss.myshopify.com"\nevent_source = "aws.partner/other.com/1/tidings"'),
      /shopify.event_source "aws.partner\/other.com\/1\/tidings" must be a partner event source \(aws.partner\/shopify.com\/...\)/,
    ],
    ['a credentials_parameter without a leading /', SAMPLE + shopifyTable('credentials_parameter = "tidings/shopify"'), /credentials_parameter .* starting with \//],
    ['a wildcard in credentials_parameter', SAMPLE + shopifyTable('credentials_parameter = "/tidings/*"'), /credentials_parameter/],
    ['a non-string api_version', SAMPLE + shopifyTable('api_version = 2025'), /shopify.api_version must be a non-empty string/],
    ['shopify not a table', `shopify = "maple-moss.myshopify.com"\n${SAMPLE}`, /shopify must be a table/],
  ])('refuses a [shopify] with %s', (_name, raw, message) => {
    expect(() => parseStoreConfig(raw, 'store.toml')).toThrow(message);
  });

  test('STORE_CONFIG is the file itself when it fits the 4 KB environment', () => {
    const config = parseStoreConfig(SAMPLE);
    expect(storeConfigEnvValue(config, 1024)).toBe(SAMPLE);
  });

  test('a heavily commented file is passed without comments, with the same values', () => {
    const comments = Array.from({ length: 80 }, (_, i) => `# comment line ${i} explaining a setting at length`).join('\n');
    const raw = `${comments}\n${SAMPLE}`;
    const value = storeConfigEnvValue(parseStoreConfig(raw), 1024);
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(4096 - 1024);
    expect(parse(value)).toEqual(parse(raw));
  });

  test('a configuration too large for the environment fails synthesis with a clear message', () => {
    const big = `${SAMPLE}\n[padding]\n${Array.from({ length: 200 }, (_, i) => `key_${i} = "${'x'.repeat(20)}"`).join('\n')}\n`;
    expect(() => storeConfigEnvValue(parseStoreConfig(big, 'big.toml'), 1024)).toThrow(/big.toml: .*4 KB environment/);
  });
});
