// The console's banner under the top bar. Its kind says what may take it down: a `connection`
// problem goes when the connection is back, a `notice` is information, an `error` stays until
// dismissed or replaced.
import type { ComponentChildren } from 'preact';

export type BannerKind = 'error' | 'connection' | 'notice';

export interface ErrorBannerProps {
  kind: BannerKind;
  message: ComponentChildren;
  /** Buttons beside the message (Try again, Reconnect now). */
  actions?: ComponentChildren;
  onDismiss?: () => void;
}

export function ErrorBanner({ kind, message, actions, onDismiss }: ErrorBannerProps) {
  return (
    <div class="banner" role="alert" data-testid="error-banner" data-kind={kind}>
      <span>{message}</span>
      {actions}
      {onDismiss ? (
        <button type="button" class="link dismiss" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      ) : null}
    </div>
  );
}
