import { useState } from 'preact/hooks';
import { ApiError, LABELS, LabelName, LabelValues, fetchLabelValues } from './api';
import { formText } from './form-text';
import { currentToken } from './token';
import { ViewState, countQuery, withValues } from './view-state';

type Loaded = { kind: 'idle' } | { kind: 'loading' } | { kind: 'values'; values: LabelValues['values'] } | { kind: 'error'; message: string };

/**
 * One label's picker: the values it takes under the view's other filters, with their line counts (GET
 * /api/v1/labels/{label}), asked for when opened; ticking values or writing a pattern (`web-*`) sets the filter.
 */
function LabelPicker({ label, view, onChange }: { label: LabelName; view: ViewState; onChange: (view: ViewState) => void }) {
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'idle' });
  const chosen = view[label] ?? [];
  const load = () => {
    setLoaded({ kind: 'loading' });
    fetchLabelValues(label, countQuery(view, [label]), currentToken()).then(
      (answer) => setLoaded({ kind: 'values', values: answer.values }),
      (error: unknown) => setLoaded({ kind: 'error', message: error instanceof ApiError ? error.message : String(error) }),
    );
  };
  const toggle = (value: string) => onChange(withValues(view, label, chosen.includes(value) ? chosen.filter((v) => v !== value) : [...chosen, value]));
  return (
    <details class="picker" data-testid={`picker-${label}`} onToggle={(event) => event.currentTarget.open && load()}>
      <summary>
        {label}: {chosen.length === 0 ? 'all' : chosen.join(', ')}
      </summary>
      <div class="picker-body">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            const pattern = formText(event.currentTarget, 'pattern').trim();
            if (pattern !== '') onChange(withValues(view, label, [...chosen, pattern]));
          }}
        >
          <input type="text" name="pattern" aria-label={`${label} pattern`} placeholder="pattern, * for any run" />
          <button type="submit">Add</button>
        </form>
        {loaded.kind === 'loading' && <p class="muted">Counting…</p>}
        {loaded.kind === 'error' && (
          <p class="error" role="alert">
            {loaded.message}
          </p>
        )}
        {loaded.kind === 'values' && (
          <ul>
            {loaded.values.length === 0 && <li class="muted">No values in this range.</li>}
            {loaded.values.map(({ value, lines }) => (
              <li key={value}>
                <label>
                  <input type="checkbox" checked={chosen.includes(value)} onChange={() => toggle(value)} /> {value}{' '}
                  <span class="count">{lines.toLocaleString()}</span>
                </label>
              </li>
            ))}
          </ul>
        )}
      </div>
    </details>
  );
}

export function LabelPickers({ view, onChange }: { view: ViewState; onChange: (view: ViewState) => void }) {
  return (
    <div class="pickers">
      {LABELS.map((label) => (
        <LabelPicker key={label} label={label} view={view} onChange={onChange} />
      ))}
    </div>
  );
}
