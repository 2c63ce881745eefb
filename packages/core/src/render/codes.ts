/**
 * Render error codes beyond the core set in `ErrorCodes` (kept here so the renderers own them;
 * every code keeps the `RENDER_` prefix of its stage).
 */
export const RenderErrorCodes = {
  /** A symbolic link in the artifact leads outside it. */
  UnsafePath: 'RENDER_UNSAFE_PATH',
  /** A folder holds more manifest files than the renderer's `maxFiles`. */
  TooManyFiles: 'RENDER_TOO_MANY_FILES',
  /** A folder of the artifact cannot be read (permissions, removed while rendering). */
  Unreadable: 'RENDER_UNREADABLE',
  /** A substitution variable has a name that cannot be referenced (`a-b`, `1x`). */
  InvalidVariable: 'RENDER_INVALID_VARIABLE',
} as const;
