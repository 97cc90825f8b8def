#!/usr/bin/env node
// Launcher: the CLI is TypeScript (no build step), so register tsx's loader, then run it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
