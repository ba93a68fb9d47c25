// The run page's title line: the run's short name, its status, its actions, and its full global id
// (what the API and CLI take; its uuid in the tooltip) with a button that copies it.
import { useState } from 'preact/hooks';
import type { Run } from '../../index.ts';
import { StatusBadge } from '../ui/badges.tsx';
import { rawId, shortId } from '../ui/format.ts';
import { RunActions } from './run-actions.tsx';
import type { RunDetail } from './use-run-detail.ts';

/** Copies `text`; where the Clipboard API is missing (plain http off localhost) selects `fallback` and copies that. */
async function copyText(text: string, fallback: HTMLElement): Promise<boolean> {
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

function RunIdLine({ id }: { id: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  let code: HTMLElement | null = null;
  return (
    <div class="id-line">
      <code class="run-id" title={rawId(id)} data-testid="run-id" ref={(element) => void (code = element)}>
        {id}
      </code>
      <button
        type="button"
        class="link copy"
        data-testid="copy-run-id"
        aria-label="Copy the run id"
        onClick={() =>
          void copyText(id, code!).then((done) => {
            setCopied(done ? 'Copied' : 'Select and copy');
            setTimeout(() => setCopied(null), 1_500);
          })
        }
      >
        {copied ?? 'Copy'}
      </button>
    </div>
  );
}

export function RunTitle({ run, put }: { run: RunDetail; put: (run: Run) => void }) {
  return (
    <div class="run-title">
      <div class="title-row">
        <h1 class="page-title">
          <a href="/runs" class="crumb">
            Runs
          </a>{' '}
          / Run {shortId(run.id)}
        </h1>
        <StatusBadge status={run.status} testId="run-status" />
        <span class="spacer" />
        <RunActions run={run} put={put} />
      </div>
      <RunIdLine id={run.id} />
    </div>
  );
}
