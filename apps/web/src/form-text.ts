/** A form's text field by name ('' when it has none): forms here hold text inputs only. */
export function formText(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value : '';
}
