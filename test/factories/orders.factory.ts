import { SHOP_KEY } from '../utils/test-env.js';

export interface OrderBody {
  currency: string;
  items: { sku: string; name: string; quantity: number; unitAmount: number }[];
}

export function orderBody(over: Partial<OrderBody> = {}): OrderBody {
  return {
    currency: 'USD',
    items: [
      { sku: 'TSHIRT-M', name: 'T-shirt, M', quantity: 2, unitAmount: 1299 },
      { sku: 'STICKER', name: 'Sticker', quantity: 1, unitAmount: 150 },
    ],
    ...over,
  };
}

export const shopHeaders = { authorization: `Bearer ${SHOP_KEY}`, 'content-type': 'application/json' };

/** Small HTTP client for tests: JSON in and out, status and headers kept. */
export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = shopHeaders,
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? withoutContentType(headers) : headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function createOrder(base: string, over: Partial<OrderBody> = {}) {
  const res = await http(base, 'POST', '/orders', orderBody(over));
  if (res.status !== 201) throw new Error(`createOrder: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; amount: number; currency: string; status: string };
}

export async function payOrder(base: string, orderId: string, body: Record<string, unknown> = {}) {
  const res = await http(base, 'POST', `/orders/${orderId}/payments`, body);
  if (res.status !== 201) throw new Error(`payOrder: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; pspPaymentId: string; status: string; amount: number; currency: string };
}

function withoutContentType(headers: Record<string, string>): Record<string, string> {
  const { 'content-type': _ignored, ...rest } = headers;
  return rest;
}
