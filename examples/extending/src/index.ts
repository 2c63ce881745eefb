/** A custom Source, Renderer and Target written from the core README's guide. */
export {
  type ConfigServiceClient,
  ConfigServiceSource,
  type ConfigServiceSourceOptions,
  type ConfigSnapshot,
} from './config-service-source.js';
export { EnvFileRenderer, type EnvFileRendererOptions } from './env-file-renderer.js';
export { JsonFolderTarget, type JsonFolderTargetOptions } from './json-folder-target.js';
