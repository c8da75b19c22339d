/**
 * A set of callbacks where `add` returns the function that removes that one
 * registration (house style). Adding the same function twice registers it
 * twice, so reference counts stay honest. A callback that throws is logged
 * (to `logger.error`) and does not stop the others: one broken panel must
 * not blank the page.
 */

export class Listeners {
  constructor(name, logger) {
    this.name = name
    this.logger = logger
    this.entries = new Set()
  }

  get size() {
    return this.entries.size
  }

  add(fn) {
    const entry = { fn }
    this.entries.add(entry)
    return () => {
      this.entries.delete(entry)
    }
  }

  emit(...args) {
    for (const entry of [...this.entries]) {
      try {
        entry.fn(...args)
      } catch (error) {
        this.logger.error(`streams: a ${this.name} listener failed: ${error}`, {
          listener: this.name,
          stack: String(error && error.stack),
        })
      }
    }
  }
}
