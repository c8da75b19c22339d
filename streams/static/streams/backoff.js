/** Reconnect delays, by attempt number and the close code that caused them. */

import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_FLOOR_MS } from "./constants.js"

/**
 * "Full jitter": a uniform delay in [0, min(cap, base * 2^(attempt-1))).
 * Clients that lost the same server at the same moment spread out instead
 * of coming back in waves.
 */
export function fullJitter(attempt, random = Math.random) {
  const window = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))
  return Math.floor(random() * window)
}

/** Milliseconds to wait before reconnect attempt `attempt` (1, 2, ...). */
export function reconnectDelay(attempt, closeCode, random = Math.random) {
  return (BACKOFF_FLOOR_MS[closeCode] ?? 0) + fullJitter(attempt, random)
}
