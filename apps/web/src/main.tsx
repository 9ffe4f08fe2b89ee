import './style.css';
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, Context, Line, Page, TokenNeeded, fetchContext, fetchPage } from './api';
import { Help } from './help';
import { searchedTerms } from './highlight';
import { Histogram } from './histogram';
import { LabelPickers } from './label-picker';
import { LineActions, LineRow } from './line-row';
import { LiveLines } from './live-lines';
import { Preferences, loadPreferences, savePreferences } from './preferences';
import { currentToken, keepToken } from './token';
import { ActiveFilters, LevelChips, SearchBar, Switches, TimeBar } from './toolbar';
import { Place, ViewState, placeQuery, readPlace, viewQuery, withValues } from './view-state';

type Status = { kind: 'loading' } | { kind: 'ready' } | { kind: 'token' } | { kind: 'error'; message: string };

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

/**
 * The first page of lines, asked for as the script starts, before the page is first drawn: the lines are what the
 * reader waits for, and drawing the controls takes as long as the request (measured: web.first_lines_ms).
 */
let firstPage: Promise<Page> | null = (() => {
  const { view, context, live } = readPlace(location.search);
  return context || live ? null : fetchPage(viewQuery(view), currentToken());
})();

/** Lines around a line are asked for this many at a time, each way. */
const CONTEXT_STEP = 20;

const messageOf = (error: unknown) => (error instanceof ApiError || error instanceof Error ? error.message : String(error));

/** Keys typed into a field are the field's, but Esc leaves it. */
const typingIn = (target: EventTarget | null) => target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName));

function App() {
  const [place, setPlace] = useState<Place>(() => readPlace(location.search));
  const { view, context, live } = place;
  const [around, setAround] = useState({ before: CONTEXT_STEP, after: CONTEXT_STEP });
  const [lines, setLines] = useState<Line[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [stopped, setStopped] = useState<Page['stopped']>(null);
  const [shownContext, setShownContext] = useState<Context | null>(null);
  const [status, setStatus] = useState<Status>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const [preferences, setPreferences] = useState<Preferences>(loadPreferences);
  const [selected, setSelected] = useState<number | null>(null);
  /** The lines whose details are open, by cursor: several may be, to compare them. */
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const toggleDetails = (cursor: string) =>
    setExpanded((open) => {
      const next = new Set(open);
      if (!next.delete(cursor)) next.add(cursor);
      return next;
    });
  const [help, setHelp] = useState(false);
  const search = useRef<HTMLInputElement | null>(null);
  const terms = useMemo(() => searchedTerms(view), [view]);

  useEffect(() => {
    const back = () => setPlace(readPlace(location.search));
    addEventListener('popstate', back);
    return () => removeEventListener('popstate', back);
  }, []);

  useEffect(() => {
    setSelected(null);
    setExpanded(new Set());
    if (live) {
      setStatus({ kind: 'ready' });
      return;
    }
    const aborted = new AbortController();
    setStatus({ kind: 'loading' });
    const failed = (error: unknown) => {
      if (aborted.signal.aborted) return;
      if (error instanceof TokenNeeded) setStatus({ kind: 'token' });
      else setStatus({ kind: 'error', message: messageOf(error) });
    };
    if (context) {
      fetchContext(context, around.before, around.after, currentToken(), aborted.signal).then((shown) => {
        setShownContext(shown);
        setStatus({ kind: 'ready' });
      }, failed);
    } else {
      const asked = firstPage ?? fetchPage(viewQuery(view), currentToken(), aborted.signal);
      firstPage = null;
      asked.then((page) => {
        setLines(page.lines);
        setNext(page.nextCursor);
        setStopped(page.stopped);
        setStatus({ kind: 'ready' });
      }, failed);
    }
    return () => aborted.abort();
  }, [view, context, live, around, attempt]);

  const go = (to: Place) => {
    history.pushState(null, '', `${location.pathname}?${placeQuery(to)}`);
    setPlace(to);
    setAround({ before: CONTEXT_STEP, after: CONTEXT_STEP });
  };
  const show = (state: ViewState) => go({ view: state, context: null, live });
  const openContext = (line: Line) => go({ view, context: line.cursor, live: false });

  const older = async () => {
    if (!next) return;
    const query = viewQuery(view);
    query.set('cursor', next);
    try {
      const page = await fetchPage(query, currentToken());
      setLines((shown) => [...shown, ...page.lines]);
      setNext(page.nextCursor);
      setStopped(page.stopped);
    } catch (error) {
      setStatus({ kind: 'error', message: messageOf(error) });
    }
  };

  const changePreferences = (changed: Preferences) => {
    savePreferences(changed);
    setPreferences(changed);
  };

  const actions: LineActions = {
    onContext: openContext,
    onLabel: (name, value) => show(withValues(view, name, [value])),
    onField: (only, name, value) => {
      const param = only ? 'field' : 'exclude_field';
      const condition = `${name}:${value}`;
      if (!(view[param] ?? []).includes(condition)) show(withValues(view, param, [...(view[param] ?? []), condition]));
    },
  };

  const listed: Line[] = context ? (shownContext ? [...shownContext.before, shownContext.line, ...shownContext.after] : []) : live ? [] : lines;

  // Set at each render, so that a key pressed before the effects of the last render have run sees its state.
  const answerKey = useRef<(event: KeyboardEvent) => void>(() => undefined);
  answerKey.current = (event: KeyboardEvent) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingIn(event.target)) {
      if (event.key === 'Escape') (event.target as HTMLElement).blur();
      return;
    }
    const move = (by: number) => setSelected((now) => (now === null ? 0 : Math.min(listed.length - 1, Math.max(0, now + by))));
    if (event.key === '/') {
      event.preventDefault();
      search.current?.focus();
    } else if (event.key === '?') setHelp((open) => !open);
    else if (event.key === 'Escape') {
      if (help) setHelp(false);
      else if (expanded.size > 0) setExpanded(new Set());
      else if (context) show(view);
    } else if (event.key === 'j' && listed.length > 0) move(1);
    else if (event.key === 'k' && listed.length > 0) move(-1);
    else if (event.key === 'c' && selected !== null && listed[selected] && !context) openContext(listed[selected]);
    else if (event.key === 'Enter' && selected !== null && listed[selected]) toggleDetails(listed[selected].cursor);
  };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => answerKey.current(event);
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    if (selected !== null) document.querySelectorAll('[data-testid=lines] > [data-testid=row]')[selected]?.scrollIntoView({ block: 'nearest' });
  }, [selected]);

  const row = (line: Line, index: number, extra: { current?: boolean; withContext?: boolean } = {}) => (
    <LineRow
      key={line.cursor}
      line={line}
      preferences={preferences}
      terms={terms}
      current={extra.current}
      selected={selected === index}
      expanded={expanded.has(line.cursor)}
      onToggle={() => toggleDetails(line.cursor)}
      {...actions}
      onContext={extra.withContext ? openContext : undefined}
    />
  );

  return (
    <main>
      <header class="bar">
        <SearchBar view={view} onChange={show} inputRef={search} />
        <div class="controls">
          <LevelChips view={view} onChange={show} />
          <TimeBar view={view} onChange={show} utc={preferences.utc} />
          <LabelPickers view={view} onChange={show} />
          <button type="button" class="chip live-switch" aria-pressed={live} onClick={() => go({ view, context: null, live: !live })}>
            {live ? 'Stop following' : 'Follow live'}
          </button>
          <Switches preferences={preferences} onChange={changePreferences} />
          <button type="button" class="chip" aria-label="Keys" onClick={() => setHelp((open) => !open)}>
            ?
          </button>
        </div>
        <ActiveFilters view={view} onChange={show} />
      </header>
      {help && <Help onClose={() => setHelp(false)} />}
      {status.kind === 'token' && <TokenPrompt onToken={() => setAttempt((n) => n + 1)} />}
      {status.kind === 'error' && !live && (
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
              {listed.map((line, i) => row(line, i, { current: line.cursor === shownContext.line.cursor }))}
            </ol>
          )}
          <button type="button" onClick={() => setAround((now) => ({ ...now, after: now.after + CONTEXT_STEP }))}>
            More after
          </button>
        </section>
      ) : live ? (
        <LiveLines view={view} attempt={attempt} preferences={preferences} terms={terms} actions={actions} onTokenNeeded={() => setStatus({ kind: 'token' })} />
      ) : (
        <>
          {status.kind !== 'token' && <Histogram view={view} attempt={attempt} onChange={show} preferences={preferences} />}
          <ol class="lines" data-testid="lines" aria-busy={status.kind === 'loading'}>
            {lines.map((line, i) => row(line, i, { withContext: true }))}
          </ol>
          {status.kind === 'ready' && stopped && (
            <p class="muted" data-testid="stopped" role="status">
              The server stopped reading at its limit of {stopped === 'lines' ? 'lines read' : 'time'} for one page: the lines found so far are shown, and
              Older reads on from where it stopped.
            </p>
          )}
          {status.kind === 'ready' && lines.length === 0 && !next && <p class="empty">No lines match.</p>}
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
