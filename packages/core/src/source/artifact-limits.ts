import { ErrorCodes, SourceError } from '../errors.js';

/**
 * The one limits type of every source: a hostile or accidental giant repository, bucket or folder
 * must be refused before it fills the disk or the memory of the process.
 */
export interface ArtifactLimits {
  /** Most files an artifact may hold. */
  readonly maxFiles?: number | undefined;
  /** Most bytes one file may hold. */
  readonly maxFileBytes?: number | undefined;
  /** Most bytes all files of an artifact together may hold. */
  readonly maxTotalBytes?: number | undefined;
}

/** Limits with every field set, as {@link resolveArtifactLimits} returns them. */
export type ResolvedArtifactLimits = { readonly [K in keyof ArtifactLimits]-?: number };

/**
 * Old spellings of the limits that S3Source accepted, kept working so existing options do not
 * break. `maxObjects` is `maxFiles`, `maxObjectSize` is `maxFileBytes`.
 * @deprecated use {@link ArtifactLimits}' `maxFiles` and `maxFileBytes`.
 */
export interface DeprecatedLimitAliases {
  /** @deprecated use `maxFiles`. */
  readonly maxObjects?: number | undefined;
  /** @deprecated use `maxFileBytes`. */
  readonly maxObjectSize?: number | undefined;
}

/** The option name a limit was given under, so a refusal names what the user wrote. */
export type LimitNames = { readonly [K in keyof ArtifactLimits]-?: string };

/** Limits resolved against a source's defaults, with the option names the user spelled. */
export interface LimitsInUse {
  /** Every limit with a value: the user's where given (an alias included), the source's default otherwise. */
  readonly limits: ResolvedArtifactLimits;
  /** For each limit, the option name the user gave it under (`maxObjects` for S3's alias), for messages. */
  readonly names: LimitNames;
}

function positive(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) {
    throw new SourceError(
      ErrorCodes.SourceFetchFailed,
      `limits.${name} must be a number ≥ 0, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Fills unset limits from `defaults`, accepting the deprecated aliases (the new name wins when both
 * are set). Throws a `SourceError` naming the option when a limit is negative or not a number.
 */
export function resolveArtifactLimits(
  limits: (ArtifactLimits & DeprecatedLimitAliases) | undefined,
  defaults: ResolvedArtifactLimits,
): LimitsInUse {
  const given = limits ?? {};
  const maxFiles = positive('maxFiles', given.maxFiles);
  const maxObjects = positive('maxObjects', given.maxObjects);
  const maxFileBytes = positive('maxFileBytes', given.maxFileBytes);
  const maxObjectSize = positive('maxObjectSize', given.maxObjectSize);
  const maxTotalBytes = positive('maxTotalBytes', given.maxTotalBytes);
  return {
    limits: {
      maxFiles: maxFiles ?? maxObjects ?? defaults.maxFiles,
      maxFileBytes: maxFileBytes ?? maxObjectSize ?? defaults.maxFileBytes,
      maxTotalBytes: maxTotalBytes ?? defaults.maxTotalBytes,
    },
    names: {
      maxFiles: maxFiles === undefined && maxObjects !== undefined ? 'maxObjects' : 'maxFiles',
      maxFileBytes:
        maxFileBytes === undefined && maxObjectSize !== undefined ? 'maxObjectSize' : 'maxFileBytes',
      maxTotalBytes: 'maxTotalBytes',
    },
  };
}
