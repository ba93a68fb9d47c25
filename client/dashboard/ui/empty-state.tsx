// What a list says when it has nothing to show (or is still loading).
import type { ComponentChildren } from 'preact';

export function EmptyState({ children, testId }: { children: ComponentChildren; testId?: string }) {
  return (
    <p class="empty" data-testid={testId}>
      {children}
    </p>
  );
}
