/** Runs `read`, counting the calls of `object[method]` meanwhile (the real method answers each), then puts it back. */
export async function countingCalls<T extends object, R>(object: T, method: keyof T & string, read: () => Promise<R> | R): Promise<{ calls: number; result: R }> {
  const real = object[method] as (...args: unknown[]) => unknown;
  let calls = 0;
  (object as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
    calls++;
    return real.apply(this, args);
  };
  try {
    return { result: await read(), calls };
  } finally {
    (object as Record<string, unknown>)[method] = real;
  }
}
