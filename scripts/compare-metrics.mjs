// Two models' scores side by side, as the markdown table of a training result
// (training/results/*.md): the headline metrics of models/metrics.json (written by
// scripts/model-card.mjs) for an old and a new model.
//
//   git show HEAD:models/metrics.json > /tmp/old.json
//   node scripts/compare-metrics.mjs /tmp/old.json models/metrics.json [--labels "v3 (shipped),v5"]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { labels: { type: 'string', default: 'old,new' } },
});
if (positionals.length !== 2) {
  console.error('usage: node scripts/compare-metrics.mjs OLD.json NEW.json [--labels "old,new"]');
  process.exit(2);
}
const [before, after] = positionals.map((file) => JSON.parse(readFileSync(file, 'utf8')));
const [labelBefore, labelAfter] = args.labels.split(',');

const ATTRIBUTES = ['smile', 'eyeglasses', 'makeup', 'lipstick', 'beard', 'moustache', 'sideburns'];
/** [split, metric path] pairs: what the issues' targets name. */
const ROWS = [
  ...['utkface-test-int8', 'utkface-test-int8-detect'].flatMap((split) =>
    ['age.mae', 'age.interval_coverage', 'gender.accuracy', 'ethnicity.accuracy'].map((m) => [split, m]),
  ),
  ['fer-publictest-int8', 'emotion_ferplus.accuracy'],
  ['fer-publictest-int8', 'emotion_ferplus.ece'],
  ['fer-publictest-int8', 'emotion_fer2013.accuracy'],
  ['celeba-test-int8', 'gender.accuracy'],
  ...ATTRIBUTES.flatMap((a) => [
    ['celeba-test-int8', `${a}.accuracy`],
    ['celeba-test-int8', `${a}.balanced_accuracy`],
  ]),
  ['fairface-val-int8', 'gender.accuracy'],
  ['fairface-val-int8', 'ethnicity.accuracy'],
  ['posed-test-int8-detect', 'emotion.accuracy'],
  ...['smile-fer-int8', 'smile-posed-int8-detect'].flatMap((split) =>
    ['smile.accuracy', 'smile.balanced_accuracy', 'smile_from_happy.accuracy'].map((m) => [split, m]),
  ),
];

const at = (metrics, split, path) =>
  path.split('.').reduce((value, key) => (value == null ? undefined : value[key]), metrics[split]);
const show = (value) => (typeof value === 'number' ? value.toFixed(4) : '–');

console.log(`| split | metric | ${labelBefore} | ${labelAfter} |`);
console.log('|---|---|---|---|');
for (const [split, path] of ROWS) {
  const [a, b] = [at(before, split, path), at(after, split, path)];
  if (a === undefined && b === undefined) continue;
  console.log(`| ${split} | ${path} | ${show(a)} | ${show(b)} |`);
}
