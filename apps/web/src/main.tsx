import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, Context, Line, TokenNeeded, fetchContext, fetchPage } from './api';
import { displayText } from './display-text';
import { currentToken, keepToken } from './token';
import { ViewState, contextOf, pageQuery, readViewState, viewQuery, withFilter } from './view-state';

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

/** Lines around a line are asked for this many at a time, each way. */
const CONTEXT_STEP = 20;

function Row({ line, onOpen, current = false }: { line: Line; onOpen?: (line: Line) => void; current?: boolean }) {
  return (
    <li class={`row level-${line.level}${current ? ' current' : ''}`} data-testid="row" aria-current={current ? 'true' : undefined}>
      <time dateTime={line.ts}>{timeOf(line.ts)}</time>
      <span class="level">{line.level}</span>
      <span class="labels">{[line.namespace, line.pod, line.container].filter(Boolean).join('/')}</span>
      <span class="message">{displayText(line.message)}</span>
      {onOpen && (
        <a class="open" href={`?${pageQuery({}, line.cursor)}`} title="The lines around this one: a link of its own" onClick={(event) => {
          event.preventDefault();
          onOpen(line);
        }}>
          context
        </a>
      )}
    </li>
  );
}

function App() {
  const [view, setView] = useState<ViewState>(() => readViewState(location.search));
  const [context, setContext] = useState<string | null>(() => contextOf(location.search));
  const [around, setAround] = useState({ before: CONTEXT_STEP, after: CONTEXT_STEP });
  const [lines, setLines] = useState<Line[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [shownContext, setShownContext] = useState<Context | null>(null);
  const [status, setStatus] = useState<Status>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const back = () => {
      setView(readViewState(location.search));
      setContext(contextOf(location.search));
    };
    addEventListener('popstate', back);
    return () => removeEventListener('popstate', back);
  }, []);

  useEffect(() => {
    const aborted = new AbortController();
    setStatus({ kind: 'loading' });
    const failed = (error: unknown) => {
      if (aborted.signal.aborted) return;
      if (error instanceof TokenNeeded) setStatus({ kind: 'token' });
      else setStatus({ kind: 'error', message: error instanceof ApiError ? error.message : String(error) });
    };
    if (context) {
      fetchContext(context, around.before, around.after, currentToken(), aborted.signal).then((shown) => {
        setShownContext(shown);
        setStatus({ kind: 'ready' });
      }, failed);
    } else {
      fetchPage(viewQuery(view), currentToken(), aborted.signal).then((page) => {
        setLines(page.lines);
        setNext(page.nextCursor);
        setStatus({ kind: 'ready' });
      }, failed);
    }
    return () => aborted.abort();
  }, [view, context, around, attempt]);

  const show = (state: ViewState, line: string | null = null) => {
    history.pushState(null, '', `${location.pathname}?${pageQuery(state, line)}`);
    setView(state);
    setContext(line);
    setAround({ before: CONTEXT_STEP, after: CONTEXT_STEP });
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
      {context ? (
        <section class="context" data-testid="context" aria-label="The lines around one line">
          <button type="button" onClick={() => show(view)}>
            Back to the lines
          </button>
          <button type="button" onClick={() => setAround((now) => ({ ...now, before: now.before + CONTEXT_STEP }))}>
            More before
          </button>
          {shownContext && (
            <ol class="lines" data-testid="lines">
              {shownContext.before.map((line) => (
                <Row key={line.cursor} line={line} />
              ))}
              <Row key={shownContext.line.cursor} line={shownContext.line} current />
              {shownContext.after.map((line) => (
                <Row key={line.cursor} line={line} />
              ))}
            </ol>
          )}
          <button type="button" onClick={() => setAround((now) => ({ ...now, after: now.after + CONTEXT_STEP }))}>
            More after
          </button>
        </section>
      ) : (
        <>
          <ol class="lines" data-testid="lines" aria-busy={status.kind === 'loading'}>
            {lines.map((line) => (
              <Row key={line.cursor} line={line} onOpen={(opened) => show(view, opened.cursor)} />
            ))}
          </ol>
          {status.kind === 'ready' && lines.length === 0 && <p class="empty">No lines match.</p>}
          {next && (
            <button type="button" class="older" onClick={() => void older()}>
              Older
            </button>
          )}
        </>
      )}
    </main>
  );
}

render(<App />, document.getElementById('app')!);
