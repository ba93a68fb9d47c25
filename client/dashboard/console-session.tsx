// One signed-in session: the SDK client for the key, the live feed of runs (one subscription for the
// whole console), who is signed in, and the pages. It asks for the viewer until the server answers
// (with a backoff and a "Try again" shortcut), then starts the live feed; the banner tells the
// connection's troubles and takes them down once it is back.
import { Provider as UrqlProvider } from '@urql/preact';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { createHeartbeatClient } from '../index.ts';
import { useBanner } from './banner.ts';
import { ConsoleContext, type ConsoleContextValue } from './console-context.ts';
import { describeError, isForbidden, isNetworkError, isRefusedKey } from './errors.ts';
import { Header } from './header.tsx';
import { retryDelayMs } from './live/connection.ts';
import { LiveContext } from './live/live-context.ts';
import { LiveRuns } from './live/live-runs.ts';
import { ConsoleRoutes } from './routes.tsx';
import { Countdown } from './ui/time.tsx';

const BRAND = 'Heartbeat';

type Viewer = ConsoleContextValue['viewer'];

export interface ConsoleSessionProps {
  apiKey: string;
  signOut(reason?: string): void;
  /** The banner, shown under the top bar. */
  banner: ComponentChildren;
}

export function ConsoleSession({ apiKey, signOut, banner }: ConsoleSessionProps) {
  const bannerControls = useBanner();
  const closed = useRef(false);
  const reportRef = useRef<ConsoleContextValue['reportError']>(() => undefined);
  const [{ client, live }] = useState(() => {
    // No retries inside the SDK: the live feed retries for as long as the page is open.
    const client = createHeartbeatClient({ url: `${location.origin}/graphql`, apiKey, retryAttempts: 0 });
    const live = new LiveRuns(client, (error) => reportRef.current(error, 'Live updates stopped'));
    return { client, live };
  });
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [canAct, setCanAct] = useState(false);

  const reportError = useCallback(
    (error: unknown, what: string) => {
      if (closed.current) return;
      if (isRefusedKey(error)) return signOut(`That API key was refused: ${describeError(error)}`);
      if (isForbidden(error)) {
        // The key may only read after all: hide what it cannot do.
        setCanAct(false);
        return bannerControls.show('notice', `This API key may only read: ${describeError(error)}. Its actions are hidden.`);
      }
      // A connection problem goes away by itself once the connection is back.
      bannerControls.show(isNetworkError(error) ? 'connection' : 'error', `${what}: ${describeError(error)}`);
    },
    [signOut, bannerControls],
  );
  reportRef.current = reportError;

  // Who is signed in, asked until the server answers; then the live feed.
  useEffect(() => {
    let wake: (() => void) | null = null;
    void (async () => {
      for (let failures = 0; !closed.current; failures++) {
        try {
          const answer = await client.viewer();
          if (closed.current) return;
          bannerControls.hide();
          const role = answer.role as Viewer['role'];
          setViewer({ id: answer.id, name: answer.name, role });
          setCanAct(role !== 'VIEWER');
          live.start();
          return;
        } catch (error) {
          if (closed.current) return;
          if (isRefusedKey(error) || !isNetworkError(error)) return reportRef.current(error, 'Cannot reach Heartbeat');
          const delay = retryDelayMs(failures);
          const tryAgain = (
            <button type="button" class="link" onClick={() => wake?.()}>
              Try again
            </button>
          );
          bannerControls.show(
            'connection',
            <>
              Cannot reach Heartbeat: {describeError(error)}. Trying again <Countdown to={new Date(Date.now() + delay).toISOString()} />.
            </>,
            tryAgain,
          );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            wake = () => (clearTimeout(timer), resolve());
          });
          wake = null;
        }
      }
    })();
    return () => {
      closed.current = true;
      (wake as (() => void) | null)?.();
      live.stop();
      void client.close();
    };
  }, []);

  // The connection's troubles in the banner, gone once it is live again.
  useEffect(
    () =>
      live.onState((state) => {
        if (state === 'live') return bannerControls.hide('connection');
        if (state !== 'offline' || !live.retry) return;
        const reconnect = (
          <button type="button" class="link" data-testid="reconnect" onClick={() => live.reconnectNow()}>
            Reconnect now
          </button>
        );
        bannerControls.show(
          'connection',
          <>
            Live updates interrupted: {describeError(live.retry.error)}. Next attempt <Countdown to={new Date(live.retry.at).toISOString()} />.
          </>,
          reconnect,
        );
      }),
    [],
  );

  useEffect(() => {
    if (viewer) document.title = viewer.name === BRAND ? BRAND : `${viewer.name} · ${BRAND}`;
  }, [viewer]);

  const value = useMemo<ConsoleContextValue | null>(() => (viewer ? { client, viewer, canAct, signOut, reportError } : null), [client, viewer, canAct, signOut, reportError]);

  return (
    <LiveContext.Provider value={live}>
      <Header company={viewer?.name ?? null} onSignOut={() => signOut()} banner={banner} />
      {value ? (
        <ConsoleContext.Provider value={value}>
          <UrqlProvider value={client.urql}>
            <main class="page">
              <ConsoleRoutes />
            </main>
          </UrqlProvider>
        </ConsoleContext.Provider>
      ) : (
        <p class="boot">Connecting to Heartbeat…</p>
      )}
    </LiveContext.Provider>
  );
}
