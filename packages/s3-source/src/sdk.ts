import { createRequire } from 'node:module';
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as NodeHttpHandler from '@smithy/node-http-handler';

/**
 * The AWS SDK, loaded the first time an S3 client or command is made rather than when the package
 * is imported: it costs some 25 MiB of RSS and 0.7 s, which a program that imports s3-source but
 * builds no S3Source (a CLI with several sources, a test) should not pay. Node resolves both
 * packages to their CommonJS builds whether imported or required (they have no `exports` map), so
 * requiring them gives the very classes an `import` would: a client the caller built works with
 * our commands.
 */
const require = createRequire(import.meta.url);

let clientS3: typeof ClientS3 | undefined;
let httpHandler: typeof NodeHttpHandler | undefined;

/** `@aws-sdk/client-s3`, loaded on first use. */
export function s3Sdk(): typeof ClientS3 {
  clientS3 ??= require('@aws-sdk/client-s3') as typeof ClientS3;
  return clientS3;
}

/** `@smithy/node-http-handler`, loaded on first use. */
export function httpHandlerSdk(): typeof NodeHttpHandler {
  httpHandler ??= require('@smithy/node-http-handler') as typeof NodeHttpHandler;
  return httpHandler;
}
