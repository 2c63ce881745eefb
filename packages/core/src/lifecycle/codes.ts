/**
 * Error codes of the lifecycle annotations. They are render errors (the manifest says something we
 * cannot honour), so every code keeps the `RENDER_` prefix of its stage and is thrown as a
 * `RenderError` naming the file, line and object.
 */
export const LifecycleErrorCodes = {
  /** An annotation value is not a string (YAML `sync-wave: 1` instead of `"1"`). */
  AnnotationNotString: 'RENDER_LIFECYCLE_ANNOTATION_NOT_STRING',
  /** `argocd.argoproj.io/hook` or `helm.sh/hook` names a hook type neither tool knows. */
  InvalidHook: 'RENDER_LIFECYCLE_INVALID_HOOK',
  /** `argocd.argoproj.io/sync-wave` or `helm.sh/hook-weight` is not an integer. */
  InvalidWave: 'RENDER_LIFECYCLE_INVALID_WAVE',
  /** A hook delete policy neither tool knows. */
  InvalidDeletePolicy: 'RENDER_LIFECYCLE_INVALID_DELETE_POLICY',
  /** An `argocd.argoproj.io/sync-options` entry is malformed or has a value the option does not take. */
  InvalidSyncOption: 'RENDER_LIFECYCLE_INVALID_SYNC_OPTION',
  /** `helm.sh/resource-policy` has a value other than `keep`. */
  InvalidResourcePolicy: 'RENDER_LIFECYCLE_INVALID_RESOURCE_POLICY',
  /** An ordinary (non-hook) object has `metadata.generateName` and no `metadata.name`. */
  GenerateNameNotHook: 'RENDER_LIFECYCLE_GENERATE_NAME_NOT_HOOK',
} as const;
