#!/usr/bin/env node
// Launcher for the `bftkit` command: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
process.env.BFTKIT_CLI = '1';
await import('../src/cli/main.ts');
