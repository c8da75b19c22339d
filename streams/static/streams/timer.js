/**
 * A retry timer that counts its tries, after Phoenix's Timer: the caller
 * supplies `delayFor(tries, ...args)`; `schedule` returns when it will fire,
 * so the UI can show "reconnecting in N s".
 */
export class Timer {
  constructor(callback, delayFor) {
    this.callback = callback
    this.delayFor = delayFor
    this.tries = 0
    this.handle = null
  }

  get pending() {
    return this.handle !== null
  }

  /** Cancels any earlier schedule; returns the epoch-ms time it fires at. */
  schedule(...args) {
    this.cancel()
    const delay = this.delayFor(this.tries + 1, ...args)
    this.handle = setTimeout(() => this.fire(), delay)
    return Date.now() + delay
  }

  /** Runs the callback now instead of at its scheduled time. */
  fire() {
    this.cancel()
    this.tries += 1
    this.callback()
  }

  cancel() {
    clearTimeout(this.handle)
    this.handle = null
  }

  reset() {
    this.cancel()
    this.tries = 0
  }
}
