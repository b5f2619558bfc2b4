import { Init1795907996601 } from './1795907996601-Init.js';
import { IdempotencyKeys1795909167257 } from './1795909167257-IdempotencyKeys.js';
import { Polling1795909953640 } from './1795909953640-Polling.js';
import { InboxPaymentIndex1795914600000 } from './1795914600000-InboxPaymentIndex.js';
import { OutboundWebhooks1795918391126 } from './1795918391126-OutboundWebhooks.js';
import { OutboundRetention1796381518392 } from './1796381518392-OutboundRetention.js';
import { InboxRetention1796392633664 } from './1796392633664-InboxRetention.js';
import { OutboundRetentionBtree1796393432314 } from './1796393432314-OutboundRetentionBtree.js';
import { InboxBodyHash1796500000000 } from './1796500000000-InboxBodyHash.js';
import { InboxDeadLetters1796500000001 } from './1796500000001-InboxDeadLetters.js';
import { SealEndpointSecrets1796510000000 } from './1796510000000-SealEndpointSecrets.js';
import { OneProcessingPaymentPerOrder1796520000000 } from './1796520000000-OneProcessingPaymentPerOrder.js';
import { PspThinEvents1796524000000 } from './1796524000000-PspThinEvents.js';
import { TraceContext1796530000000 } from './1796530000000-TraceContext.js';
import { PspPaymentIdempotencyKey1796531000000 } from './1796531000000-PspPaymentIdempotencyKey.js';
import { ShopIdempotencyKeys1796532000000 } from './1796532000000-ShopIdempotencyKeys.js';

// Every migration, in order. `npm run migration:generate -- migrations/<Name>` writes
// a new file here; review it, then add its class to this list (explicit imports work
// the same under ts-jest and in dist/).
export const MIGRATIONS: Function[] = [
  Init1795907996601,
  IdempotencyKeys1795909167257,
  Polling1795909953640,
  InboxPaymentIndex1795914600000,
  OutboundWebhooks1795918391126,
  OutboundRetention1796381518392,
  InboxRetention1796392633664,
  OutboundRetentionBtree1796393432314,
  InboxBodyHash1796500000000,
  InboxDeadLetters1796500000001,
  SealEndpointSecrets1796510000000,
  OneProcessingPaymentPerOrder1796520000000,
  PspThinEvents1796524000000,
  TraceContext1796530000000,
  PspPaymentIdempotencyKey1796531000000,
  ShopIdempotencyKeys1796532000000,
];
