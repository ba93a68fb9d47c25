// An issue's conversation: every comment, oldest first, with its author (an agent's run, or a person's
// key) and time; and, for keys that may act, a box to add one (which wakes the assigned agent).
import { useState } from 'preact/hooks';
import type { IssuePageQuery as IssuePageData } from '../../generated/graphql.ts';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { EmptyState, hrefs, RelativeTime, shortId } from '../ui/index.ts';
import { WakeupNote } from './issue-wakeup-note.tsx';
import { AddIssueCommentMutation } from './issues-operations.ts';
import { mutate } from './page-data.ts';

type Comment = NonNullable<IssuePageData['issue']>['comments'][number];
type Wakeup = Parameters<typeof WakeupNote>[0]['wakeup'];

function Author({ comment }: { comment: Comment }) {
  if (comment.authorAgent)
    return (
      <span class="author" data-author="agent">
        <a href={hrefs.agent(comment.authorAgent.id)}>{comment.authorAgent.name}</a>
        {comment.createdByRunId && <span class="muted"> · agent</span>}
      </span>
    );
  return (
    <span class="author" data-author="person" title={comment.authorUserId ? `API key ${comment.authorUserId}` : undefined}>
      Person{comment.authorUserId ? <span class="muted"> · key {shortId(comment.authorUserId)}</span> : null}
    </span>
  );
}

export function IssueComments({ issueId, comments, onAdded }: { issueId: string; comments: readonly Comment[]; onAdded: () => void }) {
  const { client, canAct } = useConsole();
  const [body, setBody] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [wakeup, setWakeup] = useState<Wakeup>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!body.trim()) {
      setError('Write something first.');
      return;
    }
    setSending(true);
    setError(null);
    try {
      const { addIssueComment } = await mutate(client, AddIssueCommentMutation, { input: { issueId, body } });
      setBody('');
      setWakeup(addIssueComment.wakeup);
      onAdded();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setSending(false);
    }
  };

  return (
    <section class="panel comments" data-testid="issue-comments">
      <h2>Comments <span class="muted">{comments.length}</span></h2>
      {comments.length === 0 && <EmptyState>No comments yet.</EmptyState>}
      <ol class="comment-list">
        {comments.map((comment) => (
          <li key={comment.id} data-testid="comment" data-comment-id={comment.id}>
            <div class="comment-head">
              <Author comment={comment} />
              <RelativeTime iso={comment.createdAt} />
            </div>
            <div class="comment-body" data-testid="comment-body">{comment.body}</div>
          </li>
        ))}
      </ol>
      {canAct && (
        <form class="comment-form" data-testid="comment-form" onSubmit={submit} noValidate>
          <textarea rows={3} data-testid="comment-input" placeholder="Add a comment (wakes the assigned agent)" value={body} onInput={(event) => setBody(event.currentTarget.value)} />
          {error && <p class="form-error" role="alert" data-testid="comment-error">{error}</p>}
          <WakeupNote wakeup={wakeup} testId="comment-wakeup" />
          <div class="form-actions">
            <button type="submit" class="primary" data-testid="comment-submit" disabled={sending}>
              {sending ? 'Sending…' : 'Comment'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
