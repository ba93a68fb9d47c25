// The run's output (stdout and stderr as stored, interleaved): the tail first, earlier windows on
// demand, following while the run works (log-follower.ts). Coding CLIs mostly print plain text, so
// it is shown as text, wrapped at the box's width.
import { useEffect, useRef, useState } from 'preact/hooks';
import { TERMINAL_RUN_STATUSES } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import { useLive } from '../live/live-context.ts';
import { LogFollower } from './log-follower.ts';

export function RunOutput({ runId, status }: { runId: string; status: string }) {
  const { client, reportError } = useConsole();
  const live = useLive();
  const text = useRef<HTMLPreElement>(null);
  const follower = useRef<LogFollower | null>(null);
  const statusNow = useRef(status);
  statusNow.current = status;
  const [state, setState] = useState<{ text: string; expired: boolean }>({ text: 'Loading the log…', expired: false });
  const [earlier, setEarlier] = useState(false);
  const [loadingEarlier, setLoadingEarlier] = useState(false);

  useEffect(() => {
    text.current!.replaceChildren();
    const created = new LogFollower(client, live, runId, text.current!, {
      finished: () => TERMINAL_RUN_STATUSES.has(statusNow.current),
      state: (words, expired = false) => setState({ text: words, expired }),
      earlier: setEarlier,
      fail: reportError,
    });
    follower.current = created;
    created.open();
    return () => created.close();
  }, [runId]);

  return (
    <section class="panel log-pane" data-testid="run-log-pane" aria-label="Output">
      <h2>Output</h2>
      {earlier ? (
        <button
          type="button"
          class="link log-earlier"
          data-testid="log-earlier"
          disabled={loadingEarlier}
          onClick={() => {
            setLoadingEarlier(true);
            void follower.current?.loadEarlier().finally(() => setLoadingEarlier(false));
          }}
        >
          Load earlier
        </button>
      ) : null}
      <pre ref={text} class="log" data-testid="run-log" tabIndex={0} hidden={state.expired} />
      <p class="muted log-state" data-testid="log-state" data-expired={state.expired ? '' : undefined}>
        {state.text}
      </p>
    </section>
  );
}
