/** One JSON object per line on stdout: what happened, and its details. */
export function logEvent(event: string, details: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...details })}\n`);
}
