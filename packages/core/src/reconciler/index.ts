export type {
  EventBase,
  ReconcilerEventName,
  ReconcilerEvents,
  ReconcilerListener,
} from './events.js';
export { type Gate, Semaphore } from './gate.js';
export { type AddOptions, DependencyNotReadyReason, Manager, type ManagerOptions } from './manager.js';
export type { ListenerErrorHandler, ReconcilerOptions } from './options.js';
export {
  type Deferral,
  type ReconcileCallOptions,
  type ReconcileResult,
  Reconciler,
  type ReconcilerBinding,
  reasonOf,
  type StopOptions,
} from './reconciler.js';
export { intervalDelay, retryDelay } from './scheduling.js';
export {
  type ConditionType,
  getCondition,
  isReadyAtLatest,
  type ReconcilerStatus,
} from './status.js';
export { type ConditionReason, ConditionReasons } from './transitions.js';
