/**
 * A set of callbacks where `add` returns the function that removes that one
 * registration (house style). Adding the same function twice registers it
 * twice, so reference counts stay honest. A callback that throws is logged
 * and does not stop the others: one broken panel must not blank the page.
 */

import { log } from "/static/logs/logger.js"

export class Listeners {
  constructor(name) {
    this.name = name
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
        log.error(`streams: a ${this.name} listener failed: ${error}`, {
          listener: this.name,
          stack: String(error && error.stack),
        })
      }
    }
  }
}
