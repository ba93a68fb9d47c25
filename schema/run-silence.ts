// A running run's output silence (docs/engine.md §17): the types of HeartbeatRun.outputSilence.
import type { OutputSilence } from '../engine/index.ts';
import { builder } from './builder.ts';

export const OutputSilenceLevelEnum = builder.enumType('OutputSilenceLevel', {
  description: 'How long a running run has printed nothing, against the server\'s thresholds (HEARTBEAT_SILENCE_SUSPICIOUS_SEC, HEARTBEAT_SILENCE_CRITICAL_SEC).',
  values: {
    OK: { value: 'ok', description: 'Output came within the suspicious threshold, or an operator dismissed this silence.' },
    SUSPICIOUS: { value: 'suspicious', description: 'Silent at least the suspicious threshold (default 1 hour).' },
    CRITICAL: { value: 'critical', description: 'Silent at least the critical threshold (default 4 hours).' },
    SNOOZED: { value: 'snoozed', description: 'An operator snoozed the warning until snoozedUntil.' },
  } as const,
});

export const RunOutputSilenceRef = builder.objectRef<OutputSilence>('RunOutputSilence').implement({
  description: 'How long a running run has been silent and what that makes it.',
  fields: (t) => ({
    level: t.expose('level', { type: OutputSilenceLevelEnum }),
    silentSince: t.expose('silentSince', { type: 'DateTime', description: 'Its last output, else its process start, else its start, else its creation.' }),
    seconds: t.exposeInt('seconds', { description: 'Whole seconds since silentSince.' }),
    snoozedUntil: t.expose('snoozedUntil', { type: 'DateTime', nullable: true, description: 'While a snooze holds: when it ends.' }),
    dismissedAt: t.expose('dismissedAt', { type: 'DateTime', nullable: true, description: 'While a dismissal covers this silence: when it was dismissed (new output re-arms the warning).' }),
  }),
});
