/**
 * Signed webhooks to the operator and to recipients: one-time verification codes (the operator sends
 * them by SMS or e-mail: pipa never holds an SMS gateway), staff reminders before a deadline, and the
 * notices a cancellation sends to every recipient that received the person's data.
 *
 * A delivery is `POST <url>` with a JSON body and these headers:
 *
 * ```
 * content-type: application/json
 * x-pipa-event: rights.code | rights.reminder | rights.overdue | rights.erasure-notice
 * x-pipa-delivery: <id>            the same id on every retry of one delivery (deduplicate on it)
 * x-pipa-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * ```
 *
 * The receiver recomputes the HMAC over the raw body with the secret pipa showed when the endpoint was
 * configured, compares in constant time and rejects timestamps more than five minutes away
 * (`verifyWebhookSignature` below does exactly that). A 2xx answer is a delivery; anything else, a
 * timeout or a network error is a failed attempt, retried by the job runner with backoff.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PipaError } from '../errors.js';
import { JobHandlerError } from '../jobs/errors.js';
import { type EgressPolicy, EgressRefusedError, literalAddress, WEBHOOK_ALLOW_ENV } from './egress.js';

export const SIGNATURE_HEADER = 'x-pipa-signature';
export const DELIVERY_HEADER = 'x-pipa-delivery';
export const EVENT_HEADER = 'x-pipa-event';
/** How far a signature's timestamp may be from the receiver's clock. */
export const SIGNATURE_TOLERANCE_S = 300;

export type WebhookEvent = 'rights.code' | 'rights.reminder' | 'rights.overdue' | 'rights.erasure-notice';

export function signWebhook(secret: Uint8Array, timestampS: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampS}.${body}`, 'utf8').digest('hex');
  return `t=${timestampS},v1=${mac}`;
}

/** Check a delivery as a receiver would. `now` in ms. */
export function verifyWebhookSignature(secret: Uint8Array, header: string | undefined, body: string, now = Date.now()): boolean {
  if (header === undefined) return false;
  const parts = new Map<string, string>();
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) parts.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(Math.floor(now / 1000) - t) > SIGNATURE_TOLERANCE_S) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex'), 'utf8');
  const given = Buffer.from(v1, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * An endpoint URL: https, or http to a loopback host (development, tests). With a policy, a host
 * written as an address (or `localhost`) must be one the policy lets webhooks reach (egress.ts);
 * names are checked when a delivery connects.
 */
export function checkWebhookUrl(url: string, path = 'url', policy?: EgressPolicy): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PipaError('validation_failed', `${path}: not a URL`, [{ path, message: '须为 URL / must be a URL' }]);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]', '::1'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new PipaError('validation_failed', `${path}: must be https (http only to localhost)`, [
      { path, message: '须使用 https（仅本机地址可用 http） / must use https (http only for localhost)' },
    ]);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new PipaError('validation_failed', `${path}: must not carry credentials`, [
      { path, message: 'URL 不得包含用户名或密码 / the URL must not carry a user name or password' },
    ]);
  }
  const literal = policy === undefined ? undefined : literalAddress(parsed.hostname);
  const refusal = literal === undefined ? undefined : policy?.refusal(literal);
  if (refusal !== undefined) {
    throw new PipaError('validation_failed', `${path}: the host ${parsed.hostname} is not reachable for webhooks: ${refusal}`, [
      {
        path,
        message: `webhook 不能指向内网、本机或保留地址，除非运营者在 ${WEBHOOK_ALLOW_ENV} 中允许 / ${refusal}`,
      },
    ]);
  }
  return parsed.toString();
}

export interface DeliveryOptions {
  fetch?: typeof fetch;
  /** Per attempt. Default 10 000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  now?: () => number;
}

export interface DeliveryResult {
  status: number;
  ms: number;
}

/**
 * POST one signed delivery. Throws `JobHandlerError` (retryable unless the receiver answered a 4xx
 * other than 408 and 429, which says the request itself is wrong). Messages name the host, never the body.
 */
export async function deliverWebhook(
  endpoint: { url: string; secret: Uint8Array },
  event: WebhookEvent,
  deliveryId: string,
  body: unknown,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const text = JSON.stringify(body);
  const t = Math.floor(now() / 1000);
  const host = new URL(endpoint.url).host;
  const where = `POST ${host}`;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal !== undefined ? AbortSignal.any([options.signal, timeout]) : timeout;
  const started = performance.now();
  let response: Response;
  try {
    response = await doFetch(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [EVENT_HEADER]: event,
        [DELIVERY_HEADER]: deliveryId,
        [SIGNATURE_HEADER]: signWebhook(endpoint.secret, t, text),
      },
      body: text,
      signal,
      redirect: 'error',
    });
    // Read (and drop) the body so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
  } catch (err) {
    const refused = err instanceof EgressRefusedError ? err : (err as { cause?: unknown }).cause;
    if (refused instanceof EgressRefusedError) {
      // Not retried: the same address would be refused again (the operator allows it, or the URL changes).
      throw new JobHandlerError(`webhook ${host} refused: ${refused.reason}`, { where, retryable: false, cause: err });
    }
    const timedOut = timeout.aborted;
    const code = (err as { cause?: { code?: unknown } }).cause?.code;
    throw new JobHandlerError(
      timedOut
        ? `webhook ${host} did not answer within ${options.timeoutMs ?? 10_000} ms`
        : `webhook ${host} unreachable${typeof code === 'string' ? ` (${code})` : ''}`,
      { where, cause: err },
    );
  }
  const ms = performance.now() - started;
  if (response.status >= 200 && response.status < 300) return { status: response.status, ms };
  const permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
  throw new JobHandlerError(`webhook ${host} answered HTTP ${response.status}`, { where, retryable: !permanent });
}
