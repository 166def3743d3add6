#!/usr/bin/env node
// The `bftkit` command from the TypeScript sources, through tsx's loader: what the tests and
// `npm run` scripts run (src/core/launcher.ts), so that they test the code as edited. The
// installed command is the compiled dist/cli/bin.js (package.json `bin`).
import { register } from 'tsx/esm/api';

register();
process.env.BFTKIT_CLI = '1';
await import('../src/cli/main.ts');
