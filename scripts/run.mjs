#!/usr/bin/env node
// Entry point of the README's commands (`npm run demo`, `npm test`): it needs only Node.js and npm.
// It installs the pinned pnpm through npx, installs the workspace, then runs the pnpm script given.
import { spawnSync } from 'node:child_process';

const PNPM = 'pnpm@10.34.9';
const script = process.argv[2];
if (!script) {
  console.error('usage: node scripts/run.mjs <pnpm script>');
  process.exit(2);
}

function run(args) {
  const result = spawnSync('npx', ['--yes', PNPM, ...args], { stdio: 'inherit', env: process.env });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(['install', '--frozen-lockfile', '--prefer-offline']);
run(['run', script]);
