import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { Line } from './api';
import { ansiSegments } from './ansi';
import { displayText } from './display-text';
import { highlight } from './highlight';
import { fieldsToShow } from './line-fields';
import { Preferences } from './preferences';
import { showTime } from './times';
import { placeQuery } from './view-state';

/** What a line's details can ask of the view: only lines with this label or field value, or without the field's. */
export interface LineActions {
  onContext?: (line: Line) => void;
  onLabel?: (name: 'namespace' | 'pod' | 'container' | 'source', value: string) => void;
  onField?: (only: boolean, name: string, value: string) => void;
}

interface RowProps extends LineActions {
  line: Line;
  preferences: Preferences;
  terms: RegExp | null;
  current?: boolean;
  selected?: boolean;
  expanded?: boolean;
  onToggle?: () => void;
}

function Message({ line, preferences, terms }: { line: Line; preferences: Preferences; terms: RegExp | null }) {
  return (
    <span class="message">
      {ansiSegments(line.message, preferences.colours).map((segment, i) => (
        <span key={i} class={segment.classes || undefined}>
          {highlight(segment.text, terms).map((piece, j) => (piece.marked ? <mark key={j}>{piece.text}</mark> : piece.text))}
        </span>
      ))}
    </span>
  );
}

/**
 * Copies a line's message as it is shown, escape sequences out and hidden characters as marks, so that what is pasted
 * (into a terminal, say) is what the reader saw. The clipboard API needs a secure origin: plain http uses a selection.
 */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && isSecureContext) return navigator.clipboard.writeText(text);
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

function Details({ line, onLabel, onField }: { line: Line } & LineActions) {
  const [copied, setCopied] = useState(false);
  const labels = (['namespace', 'pod', 'container', 'source'] as const).filter((name) => line[name]);
  const fields = fieldsToShow(line);
  return (
    <div class="details" data-testid="details">
      <dl>
        <dt>time</dt>
        <dd>{line.ts}</dd>
        {labels.map((name) => (
          <Fragment key={name}>
            <dt>{name}</dt>
            <dd>
              {line[name]}
              {onLabel && (
                <button type="button" class="only" onClick={() => onLabel(name, line[name]!)}>
                  only this
                </button>
              )}
            </dd>
          </Fragment>
        ))}
        {fields.map(([name, value]) => (
          <Fragment key={`field-${name}`}>
            <dt>{name}</dt>
            <dd data-testid="field" data-field={`${name}:${value}`}>
              {value}
              {onField && (
                <>
                  <button type="button" class="only" onClick={() => onField(true, name, value)}>
                    only this
                  </button>
                  <button type="button" class="not" onClick={() => onField(false, name, value)}>
                    not this
                  </button>
                </>
              )}
            </dd>
          </Fragment>
        ))}
      </dl>
      <button
        type="button"
        onClick={() =>
          void copyText(displayText(line.message)).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy line'}
      </button>
    </div>
  );
}

export function LineRow({ line, preferences, terms, current = false, selected = false, expanded = false, onToggle, onContext, onLabel, onField }: RowProps) {
  return (
    <li
      class={`row level-${line.level}${current ? ' current' : ''}${selected ? ' selected' : ''}${preferences.wrap ? '' : ' nowrap'}`}
      data-testid="row"
      aria-current={current ? 'true' : undefined}
      aria-selected={selected ? 'true' : undefined}
    >
      <time dateTime={line.ts} onClick={onToggle}>
        {showTime(Date.parse(line.ts), preferences.utc)}
      </time>
      <span class="level" onClick={onToggle}>
        {line.level}
      </span>
      <span class="labels" onClick={onToggle}>
        {[line.namespace, line.pod, line.container].filter(Boolean).join('/')}
      </span>
      <Message line={line} preferences={preferences} terms={terms} />
      <span class="actions">
        {onToggle && (
          <button type="button" class="expand" aria-expanded={expanded} onClick={onToggle} title="The line's labels and fields">
            {expanded ? '−' : '+'}
          </button>
        )}
        {onContext && (
          <a
            class="open"
            href={`?${placeQuery({ view: {}, context: line.cursor, live: false })}`}
            title="The lines around this one: a link of its own"
            onClick={(event) => {
              event.preventDefault();
              onContext(line);
            }}
          >
            context
          </a>
        )}
      </span>
      {expanded && <Details line={line} onLabel={onLabel} onField={onField} />}
    </li>
  );
}
