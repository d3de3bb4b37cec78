/** A text field of a submitted form ('' when absent; a file input is never read as text). */
export function fieldText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}
