/**
 * Publishes artifacts into the store folder given as argument until killed: the crash test of
 * `artifact-store.test.ts` kills it with SIGKILL at random points and checks what is left.
 */
import { ArtifactStore } from '../../src/source/artifact-store.js';

const root = process.argv[2] as string;
const store = new ArtifactStore({ root });
for (let i = 0; ; i++) {
  const files = Array.from({ length: 200 }, (_, n) => ({
    path: `dir${n % 7}/file${n}.yaml`,
    content: `revision: ${i}\nfile: ${n}\n${'x'.repeat(n * 10)}\n`,
  }));
  await store.write(files, { revision: `r${i}` });
  process.stdout.write('published\n');
  await store.collectGarbage({ keep: 3 });
}
