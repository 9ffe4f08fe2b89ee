/** Time as the service sees it; tests move a manual clock instead of waiting. */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('Clock');

export const systemClock: Clock = { now: () => Date.now() };
