import { GitOpsError, type GitOpsErrorOptions, type Stage } from '@gitops-kit/core';

/** Every error code of the OpenTofu example, prefixed with the stage it belongs to. */
export const TofuErrorCodes = {
  /** A `.tf` file's block structure is broken, or a `.tf.json` file is not JSON. */
  RenderInvalidModule: 'RENDER_OPENTOFU_INVALID_MODULE',
  /** `tofu init` or `tofu plan` refused the configuration (the diagnostics say why). */
  ValidationFailed: 'VALIDATION_OPENTOFU_PLAN_FAILED',
  /** `tofu apply` of the reviewed plan failed. */
  ApplyFailed: 'APPLY_OPENTOFU_APPLY_FAILED',
  /** The reviewed plan no longer matches the state and would change something: plan again. */
  ApplyStalePlan: 'APPLY_OPENTOFU_STALE_PLAN',
  /** The plan given to apply was not made by this target. */
  ApplyUnknownPlan: 'APPLY_OPENTOFU_UNKNOWN_PLAN',
  /** `tofu destroy` of pruned resources failed. */
  PruneFailed: 'PRUNE_OPENTOFU_DESTROY_FAILED',
  /** The state could not be read (`tofu show -json`). */
  StateUnreadable: 'HEALTH_OPENTOFU_STATE_UNREADABLE',
} as const;

/** An error of the OpenTofu target or renderer, with the stage it belongs to. */
export class TofuError extends GitOpsError {
  /** The first lines of what tofu printed (diagnostics), when it ran. */
  readonly output: string | undefined;

  constructor(
    stage: Stage,
    code: string,
    message: string,
    options: GitOpsErrorOptions & { output?: string } = {},
  ) {
    super(stage, code, message, options);
    this.output = options.output;
  }
}
