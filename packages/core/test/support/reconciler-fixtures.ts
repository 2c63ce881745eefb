/**
 * Shared helpers of the Reconciler and Manager tests: a memory source, the raw renderer, the fake
 * cluster and a manual clock wired into a Reconciler, plus controllable wrappers for sources and
 * targets (to hold a pass in a stage, or to count calls).
 */
import {
  type Artifact,
  type FetchOptions,
  type Manifest,
  MemoryStateStore,
  RawRenderer,
  RECONCILER_EVENT_NAMES,
  Reconciler,
  type ReconcilerEventName,
  type ReconcilerEvents,
  type ReconcilerOptions,
  type Renderer,
  type RenderOptions,
  type Source,
} from '@gitops-kit/core';
import { FakeCluster, ManualClock, MemorySource } from '@gitops-kit/core/testing';
import { afterEach } from 'vitest';

/** A ConfigMap manifest as YAML. */
export function configMap(name: string, value = 'v1'): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  key: ${value}\n`;
}

/** A Deployment manifest as YAML, with one container running `image`. */
export function deployment(name: string, image: string): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    '  namespace: default',
    'spec:',
    '  replicas: 1',
    '  selector:',
    '    matchLabels:',
    `      app: ${name}`,
    '  template:',
    '    metadata:',
    '      labels:',
    `        app: ${name}`,
    '    spec:',
    '      containers:',
    `        - name: ${name}`,
    `          image: ${image}`,
    '',
  ].join('\n');
}

/** The reference of a ConfigMap made by {@link configMap}. */
export function cmRef(name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name };
}

/** The reference of a Deployment made by {@link deployment}. */
export function deployRef(name: string): {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
} {
  return { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name };
}

/** The image of a Deployment's first container. */
export function imageOf(cluster: FakeCluster, name: string): unknown {
  const live = cluster.get(deployRef(name)) as
    | { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } }
    | undefined;
  return live?.spec?.template?.spec?.containers?.[0]?.image;
}

const sources: MemorySource[] = [];

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

/** A memory source removed after the test. */
export function memorySource(clock: ManualClock, files?: Record<string, string>): MemorySource {
  const source = new MemorySource({ clock, ...(files ? { files } : {}) });
  sources.push(source);
  return source;
}

/** Everything a reconciler test needs. */
export interface Rig {
  readonly clock: ManualClock;
  readonly source: MemorySource;
  readonly cluster: FakeCluster;
  readonly store: MemoryStateStore;
  readonly renderer: CountingRenderer;
  readonly reconciler: Reconciler;
  /** Every event emitted, in order, as `[name, payload]`. */
  readonly events: [ReconcilerEventName, unknown][];
  /** Names of the events emitted, `status` left out. */
  names(): ReconcilerEventName[];
}

/** Builds a rig; `overrides` go to the Reconciler options. */
export function rig(
  files: Record<string, string> | undefined,
  overrides: Partial<ReconcilerOptions> = {},
  parts: { clock?: ManualClock; source?: MemorySource; cluster?: FakeCluster; store?: MemoryStateStore } = {},
): Rig {
  const clock = parts.clock ?? new ManualClock();
  const source = parts.source ?? memorySource(clock, files);
  const cluster = parts.cluster ?? new FakeCluster({ clock });
  const store = parts.store ?? new MemoryStateStore();
  const renderer = new CountingRenderer(new RawRenderer());
  const reconciler = new Reconciler({
    name: 'app',
    source,
    renderer,
    target: cluster,
    stateStore: store,
    clock,
    random: () => 0.5,
    onListenerError: () => {},
    ...overrides,
  });
  const events: [ReconcilerEventName, unknown][] = [];
  // The pass's own events; the timing events observability listens to (passStarted, stage,
  // passFinished) have tests of their own.
  const timing = new Set<ReconcilerEventName>(['passStarted', 'stage', 'passFinished']);
  for (const name of RECONCILER_EVENT_NAMES.filter((n) => !timing.has(n)))
    reconciler.on(name, (payload: ReconcilerEvents[typeof name]) => events.push([name, payload]));
  return {
    clock,
    source,
    cluster,
    store,
    renderer,
    reconciler,
    events,
    names: () => events.map(([name]) => name).filter((name) => name !== 'status'),
  };
}

/** A renderer that counts its calls. */
export class CountingRenderer implements Renderer {
  readonly name: string;
  calls = 0;
  readonly #inner: Renderer;

  constructor(inner: Renderer) {
    this.#inner = inner;
    this.name = inner.name;
  }

  render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]> {
    this.calls++;
    return this.#inner.render(artifact, options);
  }
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * A source whose fetches wait at a gate until the test opens it (or the signal aborts), so a test can
 * hold a pass inside the fetch stage.
 */
export class GatedSource implements Source {
  readonly description: string;
  readonly inner: Source;
  /** Fetches in flight now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;
  #gate = deferred();
  #entered = deferred();

  constructor(inner: Source) {
    this.inner = inner;
    this.description = `gated ${inner.description}`;
  }

  /** Resolves when a fetch is waiting at the gate. */
  entered(): Promise<void> {
    return this.#entered.promise;
  }

  /** Lets waiting (and later) fetches through, then closes the gate for the fetches after. */
  open(): void {
    const gate = this.#gate;
    this.#gate = deferred();
    this.#entered = deferred();
    gate.resolve();
  }

  async fetch(options: FetchOptions): Promise<Artifact> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      this.#entered.resolve();
      const aborted = new Promise<never>((_, reject) => {
        options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
      });
      aborted.catch(() => {});
      await Promise.race([this.#gate.promise, aborted]);
      return await this.inner.fetch(options);
    } finally {
      this.inFlight--;
    }
  }

  matches = (change: { url?: string; ref?: string }): boolean => this.inner.matches?.(change) ?? false;
}

/**
 * Waits until the reconciler has no pass in flight. Passes do real file I/O (the memory source writes
 * a folder per revision), so a manual clock's settling is not always enough for them to finish.
 */
export async function idle(reconciler: { readonly busy: boolean }): Promise<void> {
  for (let i = 0; i < 1_000 && reconciler.busy; i++) await new Promise((resolve) => setTimeout(resolve, 2));
  if (reconciler.busy) throw new Error('the reconciler stayed busy');
}

/** Advances a manual clock, then waits for the pass it may have started to finish. */
export async function advanceAndIdle(
  clock: ManualClock,
  reconciler: { readonly busy: boolean },
  ms: number,
): Promise<void> {
  await clock.advance(ms);
  await idle(reconciler);
}
