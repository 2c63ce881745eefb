export {
  createWebhookHandler,
  type WebhookDispatcher,
  type WebhookHandler,
  type WebhookHandlerOptions,
  type WebhookOutcome,
  type WebhookProvider,
  type WebhookReconciler,
} from './handler.js';
export type { WebhookChange } from './payload.js';
export { constantTimeEqual, hmacSha256, verifyHmacSha256 } from './verify.js';
