// The console's URLs. Each page is a real address: a deep link or a reload opens it, and the
// browser's back and forward buttons move between them (server/dashboard.ts serves the app for
// each of these paths).
import { Route, Router, useLocation } from 'preact-iso';
import { useEffect } from 'preact/hooks';
import { AgentPage } from './pages/agent-page.tsx';
import { AgentsPage } from './pages/agents-page.tsx';
import { IssuePage } from './pages/issue-page.tsx';
import { IssuesPage } from './pages/issues-page.tsx';
import { NotFoundPage } from './pages/not-found-page.tsx';
import { OverviewPage } from './pages/overview-page.tsx';
import { RunPage } from './pages/run-page.tsx';
import { RunsPage } from './pages/runs-page.tsx';

/** The old address of the dashboard: the overview now, without a history entry of its own. */
function ToOverview() {
  const { route } = useLocation();
  useEffect(() => route('/', true), []);
  return null;
}

export function ConsoleRoutes() {
  return (
    <Router>
      <Route path="/" component={OverviewPage} />
      <Route path="/dashboard" component={ToOverview} />
      <Route path="/runs" component={RunsPage} />
      <Route path="/runs/:id" component={RunPage} />
      <Route path="/agents" component={AgentsPage} />
      <Route path="/agents/:id" component={AgentPage} />
      <Route path="/issues" component={IssuesPage} />
      <Route path="/issues/:id" component={IssuePage} />
      <Route default component={NotFoundPage} />
    </Router>
  );
}
