import { useState } from 'preact/hooks';
import { formText } from './form-text';
import { Preferences } from './preferences';
import { inputValue, readInput, readUrlTime } from './times';
import { FILTERS, FilterName, ViewState, withFilter, withRange, withValues } from './view-state';

type Change = (view: ViewState) => void;

const SEARCH_MODES = [
  { param: 'q', label: 'text' },
  { param: 'match', label: 'words' },
  { param: 'regex', label: 'regex' },
] as const;
type SearchMode = (typeof SEARCH_MODES)[number]['param'];

/**
 * The search box is the view's search: text (`q`, any part of the message), words and phrases (`match`) or a
 * regular expression (`regex`), whichever the switch says; searching again replaces it. Exclusions add up.
 */
export function SearchBar({ view, onChange, inputRef }: { view: ViewState; onChange: Change; inputRef: { current: HTMLInputElement | null } }) {
  const shown: SearchMode = view.regex ? 'regex' : view.match ? 'match' : 'q';
  const [mode, setMode] = useState<SearchMode>(shown);
  const text = view[shown]?.[0] ?? '';
  return (
    <form
      class="search"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        const searched = formText(event.currentTarget, 'q');
        const excluded = formText(event.currentTarget, 'exclude').trim();
        let next = withValues(withValues(withValues(view, 'q', []), 'match', []), 'regex', []);
        next = withFilter(next, mode, searched);
        if (excluded !== '') next = withValues(next, 'exclude', [...(view.exclude ?? []), excluded]);
        onChange(next);
      }}
    >
      <input type="search" name="q" placeholder="Search the lines ( / )" aria-label="Search" value={text} key={`${shown}:${text}`} ref={inputRef} />
      <select aria-label="Search for" value={mode} onChange={(e) => setMode(e.currentTarget.value as SearchMode)}>
        {SEARCH_MODES.map(({ param, label }) => (
          <option key={param} value={param}>
            {label}
          </option>
        ))}
      </select>
      <input type="search" name="exclude" placeholder="Exclude" aria-label="Exclude" key={(view.exclude ?? []).join('\n')} />
      <button type="submit">Search</button>
    </form>
  );
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** Level chips (`level`, any of those pressed) and a minimum level (`min_level`). */
export function LevelChips({ view, onChange }: { view: ViewState; onChange: Change }) {
  const pressed = view.level ?? [];
  return (
    <div class="levels" role="group" aria-label="Levels">
      {LEVELS.map((level) => {
        const on = pressed.includes(level);
        return (
          <button
            type="button"
            key={level}
            class={`chip level-${level}`}
            aria-pressed={on}
            onClick={() => onChange(withValues(view, 'level', on ? pressed.filter((l) => l !== level) : [...pressed, level]))}
          >
            {level}
          </button>
        );
      })}
      <select aria-label="Minimum level" value={view.min_level?.[0] ?? ''} onChange={(e) => onChange(withFilter(view, 'min_level', e.currentTarget.value))}>
        <option value="">any level</option>
        {LEVELS.slice(1).map((level) => (
          <option key={level} value={level}>
            {level} and above
          </option>
        ))}
      </select>
    </div>
  );
}

const PRESETS = ['15m', '1h', '6h', '24h'] as const;

/** Presets back from now (`since`), the whole retention, an absolute range (`from`, `to`), and a jump to a time. */
export function TimeBar({ view, onChange, utc }: { view: ViewState; onChange: Change; utc: boolean }) {
  const since = view.since?.[0];
  const whole = !since && !view.from && !view.to;
  const shownTime = (name: 'from' | 'to') => {
    const ms = view[name] ? readUrlTime(view[name][0]) : null;
    return ms === null ? '' : inputValue(ms, utc);
  };
  const iso = (value: string) => {
    const ms = readInput(value, utc);
    return ms === null ? null : new Date(ms).toISOString();
  };
  return (
    <div class="time" role="group" aria-label="Time">
      {PRESETS.map((preset) => (
        <button type="button" key={preset} class="chip" aria-pressed={since === preset} onClick={() => onChange(withFilter(withRange(view, null, null), 'since', preset))}>
          {preset}
        </button>
      ))}
      <button type="button" class="chip" aria-pressed={whole} onClick={() => onChange(withRange(view, null, null))} title="Every line still kept">
        all
      </button>
      <form
        class="range"
        key={`${shownTime('from')}|${shownTime('to')}|${utc}`}
        onSubmit={(event) => {
          event.preventDefault();
          onChange(withRange(view, iso(formText(event.currentTarget, 'from')), iso(formText(event.currentTarget, 'to'))));
        }}
      >
        <input type="datetime-local" step="1" name="from" aria-label="From" value={shownTime('from')} />
        <span aria-hidden="true">→</span>
        <input type="datetime-local" step="1" name="to" aria-label="To" value={shownTime('to')} />
        <button type="submit">Apply</button>
      </form>
      <form
        class="jump"
        onSubmit={(event) => {
          event.preventDefault();
          const to = iso(formText(event.currentTarget, 'at'));
          if (to) onChange(withValues(withRange(view, view.from?.[0] ?? null, to), 'direction', []));
        }}
      >
        <input type="datetime-local" step="1" name="at" aria-label="Jump to" />
        <button type="submit">Jump</button>
      </form>
    </div>
  );
}

/** Every filter of the view as a chip that takes it away: the URL's whole state, visible. */
export function ActiveFilters({ view, onChange }: { view: ViewState; onChange: Change }) {
  const chips = FILTERS.flatMap((name: FilterName) => (view[name] ?? []).map((value) => ({ name, value })));
  if (chips.length === 0) return null;
  return (
    <ul class="active" aria-label="Filters">
      {chips.map(({ name, value }) => (
        <li key={`${name}=${value}`}>
          <button type="button" class="chip" title="Take this filter away" onClick={() => onChange(withValues(view, name, (view[name] ?? []).filter((v) => v !== value)))}>
            {name}: {value} ×
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The reader's display switches. */
export function Switches({ preferences, onChange }: { preferences: Preferences; onChange: (preferences: Preferences) => void }) {
  const box = (name: keyof Preferences, label: string) => (
    <label>
      <input type="checkbox" checked={preferences[name]} onChange={(e) => onChange({ ...preferences, [name]: e.currentTarget.checked })} /> {label}
    </label>
  );
  return (
    <div class="switches">
      {box('utc', 'UTC')}
      {box('wrap', 'wrap')}
      {box('colours', 'colours')}
    </div>
  );
}
