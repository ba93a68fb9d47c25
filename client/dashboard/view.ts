// The dashboard's DOM and formatting helpers. Everything that comes from the API is set as text,
// never as HTML.
import { HeartbeatApiError, type Run } from '../index.ts';

export type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'number' ? String(child) : child);
  }
  return element;
}

export function button(content: Child | Child[], attrs: Attributes, onClick: () => void): HTMLButtonElement {
  const element = h('button', { type: 'button', ...attrs }, ...(Array.isArray(content) ? content : [content]));
  element.addEventListener('click', (event) => {
    event.stopPropagation();
    onClick();
  });
  return element;
}

/** RUNNING -> "running", SCHEDULED_RETRY -> "scheduled retry". */
export const label = (value: string | null | undefined) => (value ?? '').toLowerCase().replace(/_/g, ' ');

export const badge = (status: string | null | undefined, attrs: Attributes = {}) =>
  status ? h('span', { class: `badge badge-${status.toLowerCase()}`, ...attrs }, label(status)) : h('span', { class: 'muted' }, '—');

/** The first 8 characters of the uuid inside a global id. */
export const shortId = (globalId: string) => rawId(globalId).slice(0, 8);

export function clock(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return date.toDateString() === new Date().toDateString() ? time : `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/** Cents as dollars: 1234 -> "$12.34". */
export const money = (cents: number) => `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** A token count with thousands separators. */
export const tokens = (count: number) => count.toLocaleString('en-US');

export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

// Text the page's 1-second timer keeps current: a countdown to a time, or the time since one.
function countdownText(iso: string): string {
  const left = Date.parse(iso) - Date.now();
  return left > 0 ? `in ${span(left)}` : 'due now';
}
export const countdown = (iso: string) => h('span', { class: 'countdown', 'data-countdown': iso }, countdownText(iso));
export const elapsed = (iso: string) => h('span', { 'data-since': iso }, span(Date.now() - Date.parse(iso)));

export function tickTimers(): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-countdown]')) el.textContent = countdownText(el.dataset.countdown!);
  for (const el of document.querySelectorAll<HTMLElement>('[data-since]')) el.textContent = span(Date.now() - Date.parse(el.dataset.since!));
}

export function duration(run: Run): Child {
  if (run.startedAt && run.finishedAt) return span(Date.parse(run.finishedAt) - Date.parse(run.startedAt));
  if (run.startedAt && run.status === 'RUNNING') return elapsed(run.startedAt);
  return null;
}

/** The retry column: the countdown of a scheduled retry, or which attempt this run is. */
export function retryCell(run: Run): Child {
  const { retry } = run;
  if (run.status === 'SCHEDULED_RETRY' && retry.scheduledAt) return h('span', { class: 'retry' }, `${retry.attempt}/${retry.maxAttempts} · `, countdown(retry.scheduledAt));
  if (retry.exhaustedReason) return h('span', { class: 'muted', title: retry.exhaustedReason }, 'exhausted');
  if (retry.attempt > 0) return h('span', { class: 'muted' }, `attempt ${retry.attempt}/${retry.maxAttempts}`);
  if (retry.retryOf) return h('span', { class: 'muted' }, `retry of ${shortId(retry.retryOf.id)}`);
  return null;
}

export const describeError = (error: unknown) =>
  error instanceof HeartbeatApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);

/** A key the server will not take: unknown or revoked on HTTP, or the socket closed with 4403. */
export const isRefusedKey = (error: unknown) =>
  error instanceof HeartbeatApiError && (error.code === 'UNAUTHENTICATED' || error.details.closeCode === 4403);

/** A connection problem, which the next successful reconnect makes moot. */
export const isNetworkError = (error: unknown) => error instanceof HeartbeatApiError && error.code === 'NETWORK_ERROR';

/**
 * The page's one banner. Its kind says what may take it down: a `connection` problem goes when the
 * connection is back, a `notice` is information, an `error` stays until dismissed or replaced.
 */
export const banner = h('div', { class: 'banner', role: 'alert', 'data-testid': 'error-banner', hidden: true });
export type BannerKind = 'error' | 'connection' | 'notice';

export function showBanner(kind: BannerKind, message: Child | Child[], ...actions: HTMLElement[]): void {
  banner.dataset.kind = kind;
  banner.replaceChildren(h('span', {}, ...(Array.isArray(message) ? message : [message])), ...actions, button('×', { class: 'link dismiss', 'aria-label': 'Dismiss' }, () => hideError()));
  banner.hidden = false;
}

export const showError = (message: string, ...actions: HTMLElement[]) => showBanner('error', message, ...actions);
export const showNotice = (message: string, ...actions: HTMLElement[]) => showBanner('notice', message, ...actions);

/** Hides the banner, or only a banner of `kind`. */
export function hideError(kind?: BannerKind): void {
  if (!kind || banner.dataset.kind === kind) banner.hidden = true;
}

/** Copies `text`; where the Clipboard API is missing (plain http off localhost) selects `fallback` and copies that. */
export async function copyText(text: string, fallback: HTMLElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(fallback);
    getSelection()?.removeAllRanges();
    getSelection()?.addRange(range);
    return document.execCommand('copy');
  }
}

/** The uuid inside a global id, or the id itself. */
export function rawId(globalId: string): string {
  try {
    return atob(globalId).split(':')[1] ?? globalId;
  } catch {
    return globalId;
  }
}
