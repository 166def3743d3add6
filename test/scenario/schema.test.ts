import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';

describe('scenario.schema.json', () => {
  it('is the schema the runner validates with (regenerate with `npm run schema`)', () => {
    const committed = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../scenario.schema.json'), 'utf8'),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });
});
