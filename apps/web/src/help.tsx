/** The keys the page answers to, as the `?` key shows them. */
export const KEYS: [key: string, does: string][] = [
  ['/', 'search'],
  ['Enter', 'search (in the search box); show or hide the chosen line’s details'],
  ['Esc', 'leave the search box; close this help, the lines’ details, or the lines around one'],
  ['j / k', 'choose the next / the previous line'],
  ['c', 'the lines around the chosen line'],
  ['?', 'this help'],
];

export function Help({ onClose }: { onClose: () => void }) {
  return (
    <section class="help" role="dialog" aria-label="Keys" data-testid="help">
      <h2>Keys</h2>
      <dl>
        {KEYS.map(([key, does]) => (
          <div key={key}>
            <dt>
              <kbd>{key}</kbd>
            </dt>
            <dd>{does}</dd>
          </div>
        ))}
      </dl>
      <button type="button" onClick={onClose}>
        Close
      </button>
    </section>
  );
}
