/** A gitops-kit Target for OpenTofu, and a Renderer for folders of OpenTofu code. */
export { TofuError, TofuErrorCodes } from './errors.js';
export { type HclBlock, HclScanError, scanBlocks } from './hcl-blocks.js';
export { addressOf, MODULE_KIND, MODULE_NAME, TOFU_API_VERSION } from './model.js';
export type { TofuAction } from './plan-json.js';
export { TofuRenderer } from './renderer.js';
export {
  type TofuDrift,
  type TofuPlannedAction,
  type TofuS3Backend,
  TofuTarget,
  type TofuTargetOptions,
} from './target.js';
