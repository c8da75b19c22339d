/**
 * The browser's log service: the dashboard's and the WebSocket client's own
 * warnings and errors reach the server (`POST /api/logs/`, PROTOCOL.md
 * "Frontend logs"); debug and info never leave the browser.
 *
 *   import { log } from "/static/logs/logger.js"
 *   const wsLog = log.scoped("ws")
 *   wsLog.warn("reconnecting", { code: 1006, attempt: 3 })
 *
 * `log` is shared and already listens for uncaught errors, unhandled
 * rejections and the page going away. Entries wait in a bounded queue and
 * leave in batches: every `flushInterval` ms, at once when `batchSize` are
 * waiting, and with `fetch(..., {keepalive: true})` when the page is hidden
 * or left. Identical messages within `dedupeWindow` ms become one entry
 * with a `count` (a new one past `maxCount`). A full queue drops its
 * oldest entry and the next batch says how many were dropped. A 429 pauses
 * sending for its `Retry-After`. Everything sent is clamped below the
 * server's limits, so one odd entry can never get a whole batch refused.
 * Requests are same-origin `application/json`, as the server requires
 * (415 otherwise); sendBeacon can't send that type, hence fetch keepalive.
 */

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 }
const SENT_FROM = LEVELS.warn
const WIRE_LEVELS = { warn: "WARN", error: "ERROR" }

const DEFAULTS = Object.freeze({
  endpoint: "/api/logs/",
  source: "browser",
  flushInterval: 5000,
  batchSize: 20,
  maxQueue: 100,
  dedupeWindow: 10000,
  // Calls at or above this level are echoed to the console too; set
  // "debug" while developing to see everything (it still stays local).
  consoleLevel: "warn",
  csrfCookieName: "csrftoken",
  // Server limits: 8 KiB messages, 16 KiB contexts nested 5 deep, 256 KiB
  // bodies, counts up to 1,000. A UTF-16 unit is at most 3 UTF-8 bytes,
  // hence these char counts.
  maxCount: 1000,
  maxMessageChars: 2000,
  maxContextChars: 5000,
  maxContextDepth: 4,
  maxBodyBytes: 200 * 1024,
  // Keepalive requests share a 64 KiB budget in the browser.
  maxUnloadBytes: 60 * 1024,
  retryAfterDefault: 30000,
  now: () => Date.now(),
})

const encoder = new TextEncoder()

/** `text` without what the server refuses: NUL and lone surrogates. */
function storable(text, maxChars) {
  const clipped = text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text
  // A pair is matched first and kept; what is left is NUL or a lone half.
  return clipped.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff\u0000]/g, (match) =>
    match.length === 2 ? match : "\ufffd",
  )
}

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function describeValue(value) {
  if (typeof value === "string") return value
  if (value instanceof Error) return `${value.name}: ${value.message}`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** A JSON-safe copy of `value`: cycles, functions and depth cut off. */
function jsonSafe(value, depth, seen, maxChars) {
  if (typeof value === "string") return storable(value, maxChars)
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value)
  if (typeof value === "boolean" || value === null) return value
  if (typeof value !== "object") return value === undefined ? null : String(value)
  if (seen.has(value)) return "[circular]"
  if (depth <= 0) return "[too deep]"
  seen.add(value)
  let copy
  if (value instanceof Error) {
    copy = jsonSafe({ name: value.name, message: value.message, stack: value.stack }, depth, seen, maxChars)
  } else if (Array.isArray(value)) {
    copy = value.map((item) => jsonSafe(item, depth - 1, seen, maxChars))
  } else {
    copy = {}
    for (const [key, item] of Object.entries(value)) {
      copy[storable(key, 200)] = jsonSafe(item, depth - 1, seen, maxChars)
    }
  }
  seen.delete(value)
  return copy
}

function contextOf(value, options) {
  const context = jsonSafe(value, options.maxContextDepth, new Set(), options.maxContextChars)
  const text = JSON.stringify(context)
  if (text.length <= options.maxContextChars) return context
  return { truncated: true, preview: storable(text, options.maxContextChars / 2) }
}

/** console-style arguments -> a message and a context: a trailing plain
 * object is the context; an Error lends its stack. */
function describe(args) {
  const parts = [...args]
  let context = {}
  if (parts.length > 1 && isPlainObject(parts[parts.length - 1])) context = { ...parts.pop() }
  const error = parts.find((part) => part instanceof Error)
  if (error && error.stack && !("stack" in context)) context.stack = error.stack
  return { message: parts.map(describeValue).join(" "), context }
}

function readCookie(name) {
  const prefix = `${name}=`
  const found = (globalThis.document?.cookie ?? "")
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith(prefix))
  return found ? decodeURIComponent(found.slice(prefix.length)) : null
}

/** Milliseconds a 429 asks us to wait: Retry-After in seconds or a date. */
function retryAfterMs(response, fallback) {
  const value = response.headers.get("Retry-After")
  if (value === null) return fallback
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? fallback : Math.max(0, date - Date.now())
}

export class Logger {
  constructor(options = {}) {
    this.options = { ...DEFAULTS, ...options }
    this.queue = []
    this.dropped = 0
    this.pausedUntil = 0
    this.timer = null
    this.sending = null
    this.removers = []
  }

  debug(...args) { this.log("debug", args) }
  info(...args) { this.log("info", args) }
  warn(...args) { this.log("warn", args) }
  error(...args) { this.log("error", args) }

  /** The same logger, tagging its entries with `source` ("ws", "dashboard"). */
  scoped(source) {
    const scoped = {}
    for (const level of Object.keys(LEVELS)) {
      scoped[level] = (...args) => this.log(level, args, source)
    }
    return scoped
  }

  log(level, args, source = this.options.source) {
    if (LEVELS[level] >= LEVELS[this.options.consoleLevel]) console[level](...args)
    if (LEVELS[level] < SENT_FROM) return
    const { message, context } = describe(args)
    this.enqueue(level, message, context, source)
  }

  enqueue(level, message, context, source) {
    const now = this.options.now()
    const text = storable(message, this.options.maxMessageChars)
    const key = `${level}\u0000${source}\u0000${text}`
    const same = this.queue.find(
      (item) =>
        item.key === key &&
        now - item.since < this.options.dedupeWindow &&
        item.entry.count < this.options.maxCount,
    )
    if (same) {
      same.entry.count += 1
      return
    }
    const entry = {
      level: WIRE_LEVELS[level],
      message: text,
      source: storable(source, 100),
      url: storable(globalThis.location?.href ?? "", 2048),
      timestamp: new Date(now).toISOString(),
      context: contextOf(context, this.options),
      count: 1,
    }
    // Generous for the digits `count` may still grow by.
    const bytes = encoder.encode(JSON.stringify(entry)).length + 16
    this.queue.push({ key, since: now, entry, bytes })
    this.trim()
    if (this.queue.length >= this.options.batchSize) this.flush()
    else this.schedule()
  }

  trim() {
    while (this.queue.length > this.options.maxQueue) {
      this.queue.shift()
      this.dropped += 1
    }
  }

  schedule() {
    if (this.timer !== null || this.sending || !this.queue.length) return
    const wait = Math.max(this.options.flushInterval, this.pausedUntil - this.options.now())
    this.timer = setTimeout(() => {
      this.timer = null
      this.flush()
    }, wait)
  }

  /** Sends a batch now, and more while full batches wait; resolves when
   * done. Safe to call at any time (it joins a flush in progress). */
  flush() {
    clearTimeout(this.timer)
    this.timer = null
    if (!this.sending) {
      this.sending = this.drain().finally(() => {
        this.sending = null
        this.schedule()
      })
    }
    return this.sending
  }

  async drain() {
    let sent = true
    do {
      if (this.options.now() < this.pausedUntil) return
      const batch = this.take(this.options.maxBodyBytes)
      if (!batch) return
      sent = await this.send(batch, false)
    } while (sent && this.queue.length >= this.options.batchSize)
  }

  /** Called when the page is hidden or left: one keepalive request, now,
   * since the page may be gone before any promise settles. */
  flushOnUnload() {
    if (this.options.now() < this.pausedUntil) return
    const batch = this.take(this.options.maxUnloadBytes)
    if (batch) this.send(batch, true)
  }

  /** Up to a batch of queued entries within `maxBytes`, plus the count of
   * those dropped since the last batch; null when there is nothing. */
  take(maxBytes) {
    if (!this.queue.length && !this.dropped) return null
    let bytes = 0
    let n = 0
    while (n < this.queue.length && n < this.options.batchSize) {
      bytes += this.queue[n].bytes
      if (n > 0 && bytes > maxBytes) break
      n += 1
    }
    const batch = { items: this.queue.splice(0, n), dropped: this.dropped }
    this.dropped = 0
    return batch
  }

  requeue(batch) {
    this.queue.unshift(...batch.items)
    this.dropped += batch.dropped
    this.trim()
  }

  body(batch) {
    const entries = batch.items.map((item) => item.entry)
    if (batch.dropped) {
      entries.push({
        level: "WARN",
        message: `log queue full: ${batch.dropped} entries dropped`,
        source: "logger",
        timestamp: new Date(this.options.now()).toISOString(),
        context: { dropped: batch.dropped },
      })
    }
    return JSON.stringify({ entries })
  }

  /** True when the batch is done with (taken, or refused for good). */
  async send(batch, keepalive) {
    const headers = { "Content-Type": "application/json" }
    const csrf = readCookie(this.options.csrfCookieName)
    if (csrf) headers["X-CSRFToken"] = csrf
    let response
    try {
      response = await fetch(this.options.endpoint, {
        method: "POST",
        headers,
        body: this.body(batch),
        credentials: "same-origin",
        keepalive,
      })
    } catch {
      this.requeue(batch) // offline or server down: next time
      return false
    }
    if (response.status === 429) {
      this.pausedUntil = this.options.now() + retryAfterMs(response, this.options.retryAfterDefault)
      this.requeue(batch)
      return false
    }
    if (response.status >= 500) {
      this.requeue(batch)
      return false
    }
    // Any other refusal (400, 403: signed out) would be refused again.
    return true
  }

  /** Listens for uncaught errors, unhandled rejections and the page being
   * hidden or left; returns a function that stops listening. */
  install(target = globalThis) {
    if (this.removers.length) return () => this.uninstall()
    const on = (eventTarget, type, handler) => {
      eventTarget.addEventListener(type, handler)
      this.removers.push(() => eventTarget.removeEventListener(type, handler))
    }
    on(target, "error", (event) => {
      const { message, context } = describe([event.error ?? event.message])
      Object.assign(context, { filename: event.filename, line: event.lineno, column: event.colno })
      this.enqueue("error", message, context, "window.onerror")
    })
    on(target, "unhandledrejection", (event) => {
      const { message, context } = describe(["Unhandled rejection:", event.reason])
      this.enqueue("error", message, context, "unhandledrejection")
    })
    on(target, "pagehide", () => this.flushOnUnload())
    if (target.document) {
      on(target.document, "visibilitychange", () => {
        if (target.document.visibilityState === "hidden") this.flushOnUnload()
      })
    }
    return () => this.uninstall()
  }

  uninstall() {
    for (const remove of this.removers.splice(0)) remove()
  }
}

/** The page's shared logger. */
export const log = new Logger()
if (typeof window !== "undefined") log.install(window)

export default log
