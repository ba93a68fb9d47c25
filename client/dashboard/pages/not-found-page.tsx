// An address inside the console that names no page.
import { useLocation } from 'preact-iso';

export function NotFoundPage() {
  const { path } = useLocation();
  return (
    <section class="panel" data-testid="not-found-page">
      <h1 class="page-title">Nothing here</h1>
      <p class="muted">
        The console has no page at <code>{path}</code>. <a href="/">Back to the overview</a>.
      </p>
    </section>
  );
}
