// The run's events, in order, each with its time and the time since the one before, live until the
// run has finished. The stream survives outages: it resumes from the last event shown once the
// connection is back. New events follow the tail only while the list is scrolled to its bottom.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { HeartbeatApiError, type RunEvent } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { retryDelayMs } from '../live/connection.ts';
import { useLive } from '../live/live-context.ts';
import { clock, gap } from '../ui/format.ts';

/** How close to the bottom (px) still counts as "at the bottom". */
const TAIL_SLACK_PX = 24;
/** A payload longer than this is cut in the list. */
const PAYLOAD_SHOWN_CHARS = 240;

function EventItem({ event, previous }: { event: RunEvent; previous: RunEvent | undefined }) {
  const payload = event.payload == null ? '' : JSON.stringify(event.payload);
  const since = previous ? Date.parse(event.createdAt) - Date.parse(previous.createdAt) : null;
  return (
    <li data-seq={event.seq} class={event.level ? `level-${event.level}` : undefined}>
      <span class="seq">{event.seq}</span>
      <time class="time" dateTime={event.createdAt} title={new Date(event.createdAt).toLocaleString()}>
        {clock(event.createdAt)}
      </time>
      <span class="delta" title="Since the event before">
        {since === null ? '' : gap(since)}
      </span>
      <span class="type">{event.eventType}</span>
      <span class="message">{event.message ?? ''}</span>
      {payload && payload !== '{}' ? <code class="payload">{payload.length > PAYLOAD_SHOWN_CHARS ? `${payload.slice(0, PAYLOAD_SHOWN_CHARS)}…` : payload}</code> : null}
    </li>
  );
}

export function RunTimeline({ runId }: { runId: string }) {
  const { client, reportError } = useConsole();
  const live = useLive();
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [state, setState] = useState('Waiting for events…');
  const list = useRef<HTMLOListElement>(null);
  /** Whether the list was at its bottom when the last events arrived: then it follows them. */
  const stick = useRef(true);

  useEffect(() => {
    const watch = new AbortController();
    const { signal } = watch;
    let lastSeq = 0;
    let shown = 0;
    void (async () => {
      for (let failures = 0; !signal.aborted; ) {
        try {
          for await (const event of client.watchRunEvents(runId, { afterSeq: lastSeq, signal })) {
            if (signal.aborted) return;
            failures = 0;
            lastSeq = event.seq;
            shown++;
            const element = list.current;
            stick.current = !element || element.scrollHeight - element.scrollTop - element.clientHeight <= TAIL_SLACK_PX;
            setEvents((current) => [...current, event]);
            setState('Live');
          }
          if (!signal.aborted) setState(shown ? 'End of the run’s events.' : 'This run has no events.');
          return;
        } catch (error) {
          if (signal.aborted) return;
          const resumable = error instanceof HeartbeatApiError && (error.code === 'NETWORK_ERROR' || error.code === 'SLOW_CONSUMER');
          if (!resumable) {
            setState(`Event stream stopped: ${describeError(error)}`);
            return reportError(error, 'Event stream stopped');
          }
          setState('Connection lost: the events resume when it is back.');
          // A pause first: the connection may not have noticed the drop yet.
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs(failures++)));
          await live.whenLive();
        }
      }
    })();
    return () => watch.abort();
  }, [runId]);

  useLayoutEffect(() => {
    const element = list.current;
    if (element && stick.current) element.scrollTop = element.scrollHeight;
  }, [events.length]);

  return (
    <section class="panel timeline" aria-label="Events">
      <h2>Timeline</h2>
      <ol class="events" ref={list} data-testid="run-events">
        {events.map((event, i) => (
          <EventItem key={event.seq} event={event} previous={events[i - 1]} />
        ))}
      </ol>
      <p class="muted events-state" data-testid="events-state">
        {state}
      </p>
    </section>
  );
}
