// The email-quality gate over every email `tidings preview` wrote (scripts/email-quality runs it;
// SpamAssassin is checked there too). For each emails/*.html:
//   - caniemail (doiuse-email): every unsupported feature × client pair must be documented, with
//     the fallback that client shows, in docs/email-compatibility.toml; a documented pair no email
//     has any more fails too, so the file stays true. This script never writes that file.
//   - html-validate with rules suited to email (inline styles and table presentation attributes
//     are how mail clients lay out; accessibility rules are kept): no errors.
//   - links: every href absolute https or mailto, no entity-escaped slashes; unsubscribe and
//     confirmation links carry `ses:no-track` so a link scanner is not counted as a click.
//   - size: under Gmail's 102 KB clipping limit.
//
//   node check.mjs EMAILS_DIR COMPATIBILITY_TOML UNSUBSCRIBE_URL
//   node check.mjs EMAILS_DIR --observed        prints every pair seen (to help document a change)

import { doIUseEmail } from 'doiuse-email';
import { HtmlValidate } from 'html-validate';
import { parse } from 'smol-toml';
import fs from 'node:fs';
import path from 'node:path';

// The clients customers read mail in (issue 18): Gmail web/iOS/Android, Apple Mail macOS/iOS,
// Outlook Windows/Windows Mail/macOS/outlook.com, Yahoo.
const CLIENTS = [
  'gmail.desktop-webmail', 'gmail.ios', 'gmail.android',
  'apple-mail.macos', 'apple-mail.ios',
  'outlook.windows', 'outlook.windows-mail', 'outlook.macos', 'outlook.outlook-com',
  'yahoo.desktop-webmail',
];
const GMAIL_CLIP_BYTES = 102 * 1024;

const validator = new HtmlValidate({
  extends: ['html-validate:recommended'],
  rules: {
    // Mail clients drop <style> blocks or parts of them: styles are inline on purpose.
    'no-inline-style': 'off',
    // align, bgcolor, width, cellpadding, cellspacing, border, valign: Outlook for Windows lays
    // out by these table attributes, not by CSS.
    'no-deprecated-attr': 'off',
    // Layout tables say so with role="presentation" (kept: the a11y rules on data tables).
    'prefer-native-element': 'off',
    // `ses:no-track` is SES's own attribute on links it must not rewrite.
    'attribute-misuse': 'error',
    'no-unknown-elements': 'error',
    // A parser adds the <tbody> a layout table leaves out; no client or reader needs it written.
    'prefer-tbody': 'off',
    // The preheader's invisible filler (&zwnj;&nbsp;) and entity-written characters are intended.
    'no-raw-characters': 'off',
  },
  elements: [
    'html5',
    { a: { attributes: { 'ses:no-track': { boolean: true } } } },
  ],
});

const pairRe = /^`(.+)` is not supported by `(.+)`$/;

function unsupportedPairs(html) {
  const result = doIUseEmail(html, { emailClients: CLIENTS });
  const pairs = new Set();
  for (const error of result.errors ?? []) {
    const m = pairRe.exec(error);
    if (m) pairs.add(`${m[1]}\u0000${m[2]}`);
    else pairs.add(`${error}\u0000?`);
  }
  return pairs;
}

function linkProblems(html, unsubscribeUrl) {
  const problems = [];
  for (const m of html.matchAll(/<a\b[^>]*>/g)) {
    const tag = m[0];
    const href = /\bhref="([^"]*)"/.exec(tag)?.[1];
    if (href === undefined) {
      problems.push(`link without href: ${tag.slice(0, 80)}`);
      continue;
    }
    if (/&#x0*2f;|&#0*47;|&sol;/i.test(href)) problems.push(`entity-escaped slash in ${href.slice(0, 80)}`);
    if (!href.startsWith('https://') && !href.startsWith('mailto:')) problems.push(`not https or mailto: ${href.slice(0, 80)}`);
    if (unsubscribeUrl && href.startsWith(unsubscribeUrl) && !/\sses:no-track[\s>=]/.test(tag)) {
      problems.push(`unsubscribe or confirmation link without ses:no-track`);
    }
  }
  for (const m of html.matchAll(/<img\b[^>]*>/g)) {
    const src = /\bsrc="([^"]*)"/.exec(m[0])?.[1] ?? '';
    if (!src.startsWith('https://')) problems.push(`image not https: ${src.slice(0, 80)}`);
  }
  return problems;
}

function main() {
  const [dir, compatPath, unsubscribeUrl] = process.argv.slice(2);
  if (!dir || !compatPath) {
    console.error('usage: node check.mjs EMAILS_DIR COMPATIBILITY_TOML UNSUBSCRIBE_URL | EMAILS_DIR --observed');
    process.exit(2);
  }
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.html')).sort();
  if (files.length === 0) {
    console.error(`no .html files in ${dir}`);
    process.exit(2);
  }
  const observed = new Map(); // pair -> count of emails
  const perEmail = new Map();
  for (const file of files) {
    const pairs = unsupportedPairs(fs.readFileSync(path.join(dir, file), 'utf8'));
    perEmail.set(file, pairs);
    for (const pair of pairs) observed.set(pair, (observed.get(pair) ?? 0) + 1);
  }
  if (compatPath === '--observed') {
    const byFeature = new Map();
    for (const pair of [...observed.keys()].sort()) {
      const [feature, client] = pair.split('\u0000');
      if (!byFeature.has(feature)) byFeature.set(feature, []);
      byFeature.get(feature).push(client);
    }
    for (const [feature, clients] of byFeature) console.log(`${JSON.stringify(feature)}: ${clients.join(', ')}`);
    return;
  }

  const documented = new Set();
  const compat = parse(fs.readFileSync(compatPath, 'utf8'));
  for (const entry of compat.unsupported ?? []) {
    if (!entry.fallback || !entry.fallback.trim()) {
      console.error(`${compatPath}: \`${entry.feature}\` has no fallback described`);
      process.exit(1);
    }
    for (const client of entry.clients) documented.add(`${entry.feature}\u0000${client}`);
  }

  const failures = [];
  let validated = 0;
  let largest = { file: '', bytes: 0 };
  for (const file of files) {
    const html = fs.readFileSync(path.join(dir, file), 'utf8');
    const bytes = Buffer.byteLength(html);
    if (bytes > largest.bytes) largest = { file, bytes };
    if (bytes >= GMAIL_CLIP_BYTES) failures.push(`${file}: ${bytes} bytes of HTML; Gmail clips at ${GMAIL_CLIP_BYTES}`);
    for (const pair of perEmail.get(file)) {
      if (!documented.has(pair)) {
        const [feature, client] = pair.split('\u0000');
        failures.push(`${file}: \`${feature}\` is not supported by ${client}, and ${compatPath} does not say what that client shows instead`);
      }
    }
    const report = validator.validateStringSync(html, file);
    for (const result of report.results) {
      for (const message of result.messages) {
        if (message.severity === 2) failures.push(`${file}:${message.line}:${message.column}: html-validate ${message.ruleId}: ${message.message}`);
      }
    }
    validated += 1;
    for (const problem of linkProblems(html, unsubscribeUrl)) failures.push(`${file}: ${problem}`);
  }
  for (const pair of documented) {
    if (!observed.has(pair)) {
      const [feature, client] = pair.split('\u0000');
      failures.push(`${compatPath}: \`${feature}\` × ${client} is documented but no email uses it any more: remove it`);
    }
  }

  console.log(`email quality: ${files.length} emails; ${observed.size} unsupported feature × client pairs, all documented in ${compatPath}` +
    `; html-validate on ${validated}; largest ${largest.file} at ${(largest.bytes / 1024).toFixed(1)} KB (Gmail clips at 102 KB)`);
  if (failures.length > 0) {
    const shown = process.env.QUALITY_ALL ? failures : failures.slice(0, 60);
    for (const failure of shown) console.error(failure);
    if (failures.length > shown.length) console.error(`… and ${failures.length - shown.length} more`);
    console.error(`email quality: ${failures.length} problem(s)`);
    process.exit(1);
  }
}

main();
