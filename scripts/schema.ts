/** `npm run schema`: regenerate scenario.schema.json from the zod schema of scenario files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenarioJsonSchema } from '../src/scenario/schema.js';

const path = join(import.meta.dirname, '..', 'scenario.schema.json');
writeFileSync(path, `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${path}\n`);
