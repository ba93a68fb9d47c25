// The console's shared building blocks: badges, times, links, the runs table, empty and error
// states, the spend panel, and the pure formatters behind them. Pages import from here.
export { LivenessBadge, RunLivenessCell, SilenceBadge, StatusBadge } from './badges.tsx';
export { EmptyState } from './empty-state.tsx';
export { ErrorBanner, type BannerKind, type ErrorBannerProps } from './error-banner.tsx';
export { clock, countdownText, gap, label, money, prettyJson, rawId, relative, shortId, span, tokens } from './format.ts';
export { hrefs, Link, type LinkProps } from './link.tsx';
export { ALL_RUN_COLUMNS, RetryCell, RunsTable, type RunColumn, type RunsTableProps } from './runs-table.tsx';
export { lastDays, SpendPanel } from './spend-panel.tsx';
export { ClockTime, Countdown, Duration, Elapsed, RelativeTime, RunDuration, useNow } from './time.tsx';
