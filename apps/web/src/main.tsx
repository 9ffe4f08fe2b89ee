import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, Line, TokenNeeded, fetchPage } from './api';
import { displayText } from './display-text';
import { currentToken, keepToken } from './token';
import { ViewState, readViewState, viewQuery, withFilter } from './view-state';

type Status = { kind: 'loading' } | { kind: 'ready' } | { kind: 'token' } | { kind: 'error'; message: string };

const timeOf = (ts: string): string => new Date(ts).toLocaleString(undefined, { hour12: false });

function TokenPrompt({ onToken }: { onToken: () => void }) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  return (
    <form
      class="token"
      data-testid="token-form"
      onSubmit={(event) => {
        event.preventDefault();
        keepToken(token, remember);
        onToken();
      }}
    >
      <label>
        Read token <input type="password" name="token" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
      </label>
      <label>
        <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} /> remember in this tab
      </label>
      <button type="submit">Read</button>
    </form>
  );
}

function Row({ line }: { line: Line }) {
  return (
    <li class={`row level-${line.level}`} data-testid="row">
      <time dateTime={line.ts}>{timeOf(line.ts)}</time>
      <span class="level">{line.level}</span>
      <span class="labels">{[line.namespace, line.pod, line.container].filter(Boolean).join('/')}</span>
      <span class="message">{displayText(line.message)}</span>
    </li>
  );
}

function App() {
  const [view, setView] = useState<ViewState>(() => readViewState(location.search));
  const [lines, setLines] = useState<Line[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [status, setStatus] = useState<Status>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const back = () => setView(readViewState(location.search));
    addEventListener('popstate', back);
    return () => removeEventListener('popstate', back);
  }, []);

  useEffect(() => {
    const aborted = new AbortController();
    setStatus({ kind: 'loading' });
    fetchPage(viewQuery(view), currentToken(), aborted.signal).then(
      (page) => {
        setLines(page.lines);
        setNext(page.nextCursor);
        setStatus({ kind: 'ready' });
      },
      (error: unknown) => {
        if (aborted.signal.aborted) return;
        if (error instanceof TokenNeeded) setStatus({ kind: 'token' });
        else setStatus({ kind: 'error', message: error instanceof ApiError ? error.message : String(error) });
      },
    );
    return () => aborted.abort();
  }, [view, attempt]);

  const show = (state: ViewState) => {
    history.pushState(null, '', `${location.pathname}?${viewQuery(state).toString()}`);
    setView(state);
  };

  const older = async () => {
    if (!next) return;
    const query = viewQuery(view);
    query.set('cursor', next);
    try {
      const page = await fetchPage(query, currentToken());
      setLines((shown) => [...shown, ...page.lines]);
      setNext(page.nextCursor);
    } catch (error) {
      setStatus({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  };

  return (
    <main>
      <form
        class="search"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          const text = new FormData(event.currentTarget).get('q');
          show(withFilter(view, 'q', typeof text === 'string' ? text : ''));
        }}
      >
        <input type="search" name="q" placeholder="Search the lines" aria-label="Search" value={view.q?.[0] ?? ''} key={view.q?.[0] ?? ''} />
        <button type="submit">Search</button>
      </form>
      {status.kind === 'token' && <TokenPrompt onToken={() => setAttempt((n) => n + 1)} />}
      {status.kind === 'error' && (
        <p class="error" role="alert">
          {status.message}
        </p>
      )}
      <ol class="lines" data-testid="lines" aria-busy={status.kind === 'loading'}>
        {lines.map((line) => (
          <Row key={line.cursor} line={line} />
        ))}
      </ol>
      {status.kind === 'ready' && lines.length === 0 && <p class="empty">No lines match.</p>}
      {next && (
        <button type="button" class="older" onClick={() => void older()}>
          Older
        </button>
      )}
    </main>
  );
}

render(<App />, document.getElementById('app')!);
