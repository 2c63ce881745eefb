import { runQuickstart } from './quickstart.js';

/** `pnpm demo`: tells the quickstart story and exits 0 when it went as told. */
const outcome = await runQuickstart();
const told = outcome.rolledBackRevision !== undefined && outcome.finalImage === 'nginx:1.27';
if (!told) {
  console.error('\nThe quickstart did not go as expected (see above).');
  process.exitCode = 1;
}
