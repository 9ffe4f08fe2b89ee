import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, TailEntry, TokenNeeded, followTail } from './api';
import { LineActions, LineRow } from './line-row';
import { Preferences } from './preferences';
import { currentToken } from './token';
import { ViewState, countQuery } from './view-state';

/** The newest lines the stream starts with. */
const OPENING_LINES = 100;
/** The view keeps this many lines; older ones leave the top (the server's own buffer is its business). */
export const LIVE_LINES_KEPT = 2000;

type Shown = { id: string; entry: TailEntry };
type State = { kind: 'following' } | { kind: 'ended' } | { kind: 'error'; message: string };

/**
 * Following the view's filters through GET /api/v1/tail (a stream, not polling): lines oldest first as they are
 * stored, paused and resumed without losing what arrived meanwhile, stuck to the bottom unless the reader scrolls
 * up, at most LIVE_LINES_KEPT of them, and the server's notice of lines dropped for a slow reader shown in place.
 */
export function LiveLines({
  view,
  attempt,
  preferences,
  terms,
  actions,
  onTokenNeeded,
}: {
  view: ViewState;
  attempt: number;
  preferences: Preferences;
  terms: RegExp | null;
  actions: LineActions;
  onTokenNeeded: () => void;
}) {
  /** The lines in view, and how many older ones left it to keep it bounded. */
  const [{ shown, leftOut }, setKept] = useState<{ shown: Shown[]; leftOut: number }>({ shown: [], leftOut: 0 });
  const [paused, setPaused] = useState(false);
  const [waiting, setWaiting] = useState(0);
  const [stick, setStick] = useState(true);
  const [state, setState] = useState<State>({ kind: 'following' });
  const [restart, setRestart] = useState(0);
  const held = useRef<Shown[]>([]);
  const pausedNow = useRef(false);

  const add = (entries: Shown[]) =>
    setKept((before) => {
      const all = before.shown.concat(entries);
      const over = Math.max(0, all.length - LIVE_LINES_KEPT);
      return { shown: all.slice(over), leftOut: before.leftOut + over };
    });

  useEffect(() => {
    const aborted = new AbortController();
    let notices = 0;
    setKept({ shown: [], leftOut: 0 });
    held.current = [];
    setWaiting(0);
    setState({ kind: 'following' });
    followTail(countQuery(view), OPENING_LINES, currentToken(), aborted.signal, (entries) => {
      const arrived = entries.map((entry) => ({ id: entry.kind === 'line' ? entry.line.cursor : `notice-${notices++}`, entry }));
      if (pausedNow.current) {
        held.current.push(...arrived);
        setWaiting(held.current.length);
      } else add(arrived);
    }).then(
      () => !aborted.signal.aborted && setState({ kind: 'ended' }),
      (error: unknown) => {
        if (aborted.signal.aborted) return;
        if (error instanceof TokenNeeded) onTokenNeeded();
        else setState({ kind: 'error', message: error instanceof ApiError ? error.message : String(error) });
      },
    );
    return () => aborted.abort();
  }, [view, attempt, restart]);

  useEffect(() => {
    if (stick) scrollTo(0, document.documentElement.scrollHeight);
  }, [shown, stick]);

  useEffect(() => {
    const upward = (event: WheelEvent) => event.deltaY < 0 && setStick(false);
    addEventListener('wheel', upward);
    return () => removeEventListener('wheel', upward);
  }, []);

  const pause = (on: boolean) => {
    pausedNow.current = on;
    setPaused(on);
    if (!on) {
      add(held.current);
      held.current = [];
      setWaiting(0);
    }
  };

  return (
    <section class="live" data-testid="live" aria-label="Live lines">
      <div class="live-controls">
        <span class="live-state" role="status">
          {state.kind === 'following' ? (paused ? `Paused: ${waiting} new lines waiting` : 'Following live') : state.kind === 'ended' ? 'The stream ended' : ''}
        </span>
        <button type="button" onClick={() => pause(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <label>
          <input type="checkbox" checked={stick} onChange={(e) => setStick(e.currentTarget.checked)} /> stick to the bottom
        </label>
        {state.kind !== 'following' && (
          <button type="button" onClick={() => setRestart((n) => n + 1)}>
            Follow again
          </button>
        )}
      </div>
      {state.kind === 'error' && (
        <p class="error" role="alert">
          {state.message}
        </p>
      )}
      {leftOut > 0 && (
        <p class="muted" data-testid="left-out">
          {leftOut} older lines left the view, which keeps the newest {LIVE_LINES_KEPT}.
        </p>
      )}
      <ol class="lines" data-testid="lines">
        {shown.map(({ id, entry }) =>
          entry.kind === 'line' ? (
            <LineRow key={id} line={entry.line} preferences={preferences} terms={terms} {...actions} />
          ) : (
            <li key={id} class="notice" data-testid="notice" role="status">
              {entry.text}
            </li>
          ),
        )}
      </ol>
    </section>
  );
}
