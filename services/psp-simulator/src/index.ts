// Public entry for tools that drive the simulator in-process (the payment service's tests spawn
// it as a process instead, like production; see README).
export { buildPspApp, type PspApp, type PspAppConfig } from './app';
export { pspConfigSchema, type PspConfig } from './config';
export {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from './webhook-signature';
export type { Charge, Refund, PspEventType } from './processor';
export type { PspEvent, DeliveryState } from './webhook.dispatcher';
