import { writeFileSync } from 'node:fs';
import { synth, synthDefault, synthOtherStore } from './helpers';
const dir = process.env.BASELINE_DIR!;
test('dump', () => {
  writeFileSync(`${dir}/default.json`, JSON.stringify(synthDefault().template.toJSON(), null, 1));
  writeFileSync(`${dir}/other.json`, JSON.stringify(synthOtherStore().template.toJSON(), null, 1));
  writeFileSync(`${dir}/plain.json`, JSON.stringify(synth().template.toJSON(), null, 1));
  writeFileSync(`${dir}/defaultbus.json`, JSON.stringify(synth({ useDefaultBus: 'true', unsubscribe: 'true' }).template.toJSON(), null, 1));
});
