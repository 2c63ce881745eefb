// `pnpm bench:imports`: the RSS of a fresh Node process right after it imports gitops-kit's
// packages (the built ones, on plain Node), next to the RSS of an empty process. Heavy dependencies
// (the AWS SDK, @kubernetes/client-node, isomorphic-git, openpgp, yaml, diff) load on first use,
// so importing costs little. The last line is one JSON object.
import { execFileSync } from 'node:child_process';

const PACKAGES = ['core', 'k8s-target', 'git-source', 's3-source'];
const measure = (imports) =>
  JSON.parse(
    execFileSync(process.execPath, [
      '--input-type=module',
      '-e',
      `${imports.map((p) => `await import(${JSON.stringify(new URL(`../packages/${p}/dist/index.js`, import.meta.url).href)});`).join('')}
       console.log(JSON.stringify(process.memoryUsage.rss()));`,
    ]).toString(),
  );
const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;

const runs = 3;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const empty = median(Array.from({ length: runs }, () => measure([])));
const result = { emptyProcessMiB: mib(empty) };
for (const name of PACKAGES)
  result[`${name}MiB`] = mib(median(Array.from({ length: runs }, () => measure([name]))));
result.allMiB = mib(median(Array.from({ length: runs }, () => measure(PACKAGES))));
for (const [key, value] of Object.entries(result))
  console.log(`${key.replace(/MiB$/, '')}: ${value} MiB RSS`);
console.log(JSON.stringify(result));
