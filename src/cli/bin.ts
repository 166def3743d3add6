#!/usr/bin/env node
/**
 * The `bftkit` command as installed (package.json `bin`): the compiled CLI on plain Node.
 * In the repository, scripts/bftkit.mjs runs the same CLI from the TypeScript sources.
 */
process.env.BFTKIT_CLI = '1';
await import('./main.js');
