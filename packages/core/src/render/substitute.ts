import { digestObject } from '../digest.js';
import { ErrorCodes, GitOpsError, RenderError } from '../errors.js';
import { parseDocument } from '../lazy-yaml.js';
import { formatRef, refOf } from '../refs.js';
import type { Artifact, Manifest, Renderer, RenderOptions } from '../types.js';
import {
  checkManifestObject,
  KUBECTL_YAML_OPTIONS,
  messageWithoutLocation,
  substitutionHints,
} from './parse.js';

/**
 * Variable substitution after rendering, as Flux's `postBuild.substitute`, with the result Flux's
 * text substitution gives: a plain YAML value is read again (`replicas: ${REPLICAS}` becomes the
 * number 3), a quoted one stays a string (`PORT: "${PORT}"` stays "8080"). Supported forms:
 *   `${VAR}`             the value; undefined → empty string, or an error in strict mode
 *   `${VAR:=default}`    the value when set and not empty, else the default (also `${VAR:-default}`)
 *   `${VAR=default}`     the value when set, else the default (also `${VAR-default}`)
 *   `$${VAR}`            a literal `${VAR}`
 * Bare `$VAR` and anything that is not a valid name (`${a.b}`, `${ARR[@]}`) are left as they are,
 * so shell scripts in ConfigMaps survive. An object with the annotation or label
 * `kustomize.toolkit.fluxcd.io/substitute: disabled` is left untouched.
 */

/** The annotation (or label) that opts an object out of substitution when set to `disabled`. */
export const SUBSTITUTE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/substitute';

/** Options for {@link withSubstitution}. */
export interface SubstituteOptions {
  /** Variable values by name (names: letters, digits and `_`, not starting with a digit). */
  readonly variables: Readonly<Record<string, string>>;
  /** Make a variable that is undefined and has no default an error naming the object (default false). */
  readonly strict?: boolean;
  /** The opt-out annotation/label key (default {@link SUBSTITUTE_ANNOTATION}). */
  readonly optOutKey?: string;
}

const VARIABLE_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
const REFERENCE = /\$(\$?)\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])([^}]*))?\}/g;

/** Whether any string (value or key) in a JSON value contains `${`. */
function mentionsVariable(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('${');
  if (Array.isArray(value)) return value.some(mentionsVariable);
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) if (key.includes('${') || mentionsVariable(v)) return true;
  }
  return false;
}

/**
 * Replaces variable references in a text. Returns the text and the names that were undefined
 * without a default.
 */
export function substituteText(
  text: string,
  variables: Readonly<Record<string, string>>,
): { text: string; undefinedNames: string[] } {
  const missing = new Set<string>();
  const out = text.replace(
    REFERENCE,
    (whole, escaped: string, name: string, operator?: string, fallback?: string) => {
      if (escaped) return whole.slice(1);
      const has = Object.hasOwn(variables, name);
      const value = has ? variables[name] : undefined;
      if (operator === ':=' || operator === ':-') return value ? value : (fallback ?? '');
      if (operator === '=' || operator === '-') return has ? (value ?? '') : (fallback ?? '');
      if (!has) {
        missing.add(name);
        return '';
      }
      return value ?? '';
    },
  );
  return { text: out, undefinedNames: [...missing].sort() };
}

function optedOut(manifest: Manifest, key: string): boolean {
  const { annotations, labels } = manifest.object.metadata;
  return annotations?.[key] === 'disabled' || labels?.[key] === 'disabled';
}

/** Reads a substituted plain scalar as YAML would (`3` → 3, `true` → true, `` → null). */
function readPlain(text: string): unknown {
  const doc = parseDocument(text, KUBECTL_YAML_OPTIONS);
  if (doc.errors.length > 0) return text;
  return doc.toJS({ maxAliasCount: 0 });
}

/** Path keys joined for lookup (keys cannot contain NUL). */
export const valuePathKey = (path: readonly (string | number)[]): string => path.join('\0');

/**
 * Substitutes variables in every manifest that mentions one and has not opted out. Origins are
 * kept. A value that was a plain scalar in the YAML is read again after substitution (so
 * `replicas: ${N}` becomes a number); a quoted or block value stays a string, as when Flux
 * substitutes in the YAML text. In strict mode an undefined variable without a default is a
 * `RenderError` `RENDER_UNDEFINED_VARIABLE` naming the object and the variables (never their values).
 */
export function substituteVariables(manifests: readonly Manifest[], options: SubstituteOptions): Manifest[] {
  for (const name of Object.keys(options.variables)) {
    if (!VARIABLE_NAME.test(name)) {
      throw new RenderError(
        ErrorCodes.RenderInvalidVariable,
        `"${name}" is not a valid variable name (letters, digits, _)`,
      );
    }
  }
  const key = options.optOutKey ?? SUBSTITUTE_ANNOTATION;
  return manifests.map((manifest) => {
    if (optedOut(manifest, key) || !mentionsVariable(manifest.object)) return manifest;
    const location = { ...manifest.origin, object: formatRef(refOf(manifest.object)) };
    const plain = new Set(substitutionHints(manifest.object).plain.map(valuePathKey));
    const missing = new Set<string>();
    const path: (string | number)[] = [];
    const replace = (text: string): string => {
      const result = substituteText(text, options.variables);
      for (const name of result.undefinedNames) missing.add(name);
      return result.text;
    };
    const walk = (value: unknown): unknown => {
      if (typeof value === 'string') {
        if (!value.includes('${')) return value;
        const text = replace(value);
        return plain.has(valuePathKey(path)) ? readPlain(text) : text;
      }
      if (Array.isArray(value)) {
        return value.map((item, i) => {
          path.push(i);
          const out = walk(item);
          path.pop();
          return out;
        });
      }
      if (value && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
          path.push(k);
          out[k.includes('${') ? replace(k) : k] = walk(v);
          path.pop();
        }
        return out;
      }
      return value;
    };
    const substituted = walk(manifest.object);
    if (options.strict && missing.size > 0) {
      const names = [...missing].sort().map((n) => `\${${n}}`);
      throw new RenderError(
        ErrorCodes.RenderUndefinedVariable,
        `variable${names.length === 1 ? '' : 's'} ${names.join(', ')} not defined (strict substitution)`,
        { location },
      );
    }
    try {
      return { object: checkManifestObject(substituted, manifest.origin), origin: manifest.origin };
    } catch (error) {
      // Check messages name fields, never values, so they are safe to pass on.
      if (!(error instanceof GitOpsError)) throw error;
      throw new RenderError(error.code, `after variable substitution: ${messageWithoutLocation(error)}`, {
        location,
        cause: error,
      });
    }
  });
}

/**
 * Wraps a renderer so its output goes through variable substitution. The cache key includes
 * a digest of the variables, so changed values render again.
 */
export function withSubstitution(renderer: Renderer, options: SubstituteOptions): Renderer {
  const variablesKey = digestObject({
    v: options.variables,
    s: options.strict ?? false,
    k: options.optOutKey ?? '',
  });
  const wrapped: Renderer = {
    name: renderer.name,
    ...(renderer.usesClusterCapabilities ? { usesClusterCapabilities: true } : {}),
    async render(artifact: Artifact, renderOptions: RenderOptions): Promise<Manifest[]> {
      return substituteVariables(await renderer.render(artifact, renderOptions), options);
    },
  };
  const inner = renderer.cacheKey?.bind(renderer);
  if (inner) {
    return {
      ...wrapped,
      cacheKey: async (o: RenderOptions) => `${await inner(o)}|substitute:${variablesKey}`,
    };
  }
  return wrapped;
}
