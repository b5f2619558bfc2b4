/** Ids of an event envelope for log lines: the event, and where the sender echoes them, the payment and order. */
export function eventLogIds(event: { event_id?: unknown; data?: unknown }): Record<string, unknown> {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const metadata = (data.metadata ?? {}) as Record<string, unknown>;
  return {
    eventId: event.event_id,
    pspPaymentId: data.payment_id,
    orderId: metadata.orderId,
    paymentId: metadata.paymentId,
  };
}
