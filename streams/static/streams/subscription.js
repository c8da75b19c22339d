/**
 * One (stream, params) subscription of the client, shared by every handler
 * that asked for it, and its recovery bookkeeping (PROTOCOL.md "Sequence
 * and recovery").
 *
 * Status:
 *   pending   -> not sent on the current connection (or no connection)
 *   joining   -> `subscribe` sent; events are dropped, the coming
 *                `full_update` or replay covers them
 *   syncing   -> `subscribed` received; the next message is the snapshot,
 *                or, for a stream without one, the first event
 *   live      -> seq/epoch known; events are applied in order
 *   failed    -> the server refused it (forbidden, invalid_params, ...);
 *                tried again on the next connection
 */

import { Listeners } from "./listeners.js"
import { STALE, Table } from "./table.js"

/** JSON with sorted keys: {"a":1,"b":2} and {"b":2,"a":1} are one subscription. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).filter((key) => value[key] !== undefined).sort()
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(",")}}`
  }
  return JSON.stringify(value)
}

export function subscriptionKey(stream, params) {
  return `${stream} ${canonicalJson(params)}`
}

// What `receive` asks the client to do.
export const RESYNC_GAP = "gap"
export const RESYNC_EPOCH = "epoch"
export const IGNORED_STALE = "stale"

export class Subscription {
  /** `tableSpec`: how to keep this stream's rows (table.js); none, no rows. */
  constructor(stream, params, { logger, tableSpec = null }) {
    this.stream = stream
    this.params = params
    this.tableSpec = tableSpec
    this.handlers = new Listeners(stream, logger)
    this.status = "pending"
    this.requestId = null
    this.epoch = null
    this.seq = null
    this.table = null
    this.failure = null
    this.retries = 0
  }

  get key() {
    return subscriptionKey(this.stream, this.params)
  }

  /** A subscribe names the last event applied (PROTOCOL.md "Resuming from
   * history"): the server replays what came after it, or says it can't and
   * sends a snapshot. */
  frame(action, requestId) {
    const frame = { action, stream: this.stream, params: this.params, request_id: requestId }
    if (action === "subscribe" && this.epoch !== null && this.seq !== null) {
      frame.since = { seq: this.seq, epoch: this.epoch }
    }
    return frame
  }

  /** A new epoch: nothing from the old one can be resumed. */
  forgetPosition() {
    this.epoch = null
    this.seq = null
  }

  /** Called when a `subscribe` frame with this request_id has been sent. */
  joined(requestId) {
    this.requestId = requestId
    this.status = "joining"
  }

  /** Called when the connection is gone: everything is re-joined on the next. */
  detached() {
    this.requestId = null
    this.status = "pending"
  }

  /**
   * Does an event (which names no subscription) belong here? Each param must
   * equal the field of that name, on the envelope (session_id, PROTOCOL.md)
   * or else in data. A field the event lacks cannot disagree, so it matches.
   */
  matches(message) {
    return Object.entries(this.params).every(([name, wanted]) => {
      if (wanted == null) return true
      const have = name in message ? message[name] : message.data?.[name]
      return have == null || String(have) === String(wanted)
    })
  }

  /** Called with a reply to this subscription's current request. */
  reply(message) {
    if (message.type === "subscribed") {
      // Recovered: the events missed follow, then live ones; the table,
      // seq and epoch held so far stay right.
      if (this.status === "joining") this.status = message.data?.recovered ? "live" : "syncing"
    } else if (message.type === "full_update") {
      this.snapshot(message)
    } else if (message.type === "error") {
      this.status = "failed"
      this.failure = { type: "error", message, error: message.data, rows: null, change: null }
      this.handlers.emit(this.failure)
    }
  }

  /** Called when the server ended this subscription itself (access
   * withdrawn): it stays failed until the next connection tries again. */
  withdrawn(message) {
    this.requestId = null
    this.status = "failed"
    const error = { code: message.data?.reason ?? "forbidden", message: "access was withdrawn" }
    this.failure = { type: "error", message, error, rows: null, change: null }
    this.handlers.emit(this.failure)
  }

  snapshot(message) {
    this.status = "live"
    this.failure = null
    this.retries = 0
    this.epoch = message.epoch
    this.seq = message.seq
    const rows = this.tableSpec && message.data?.[this.tableSpec.rows]
    this.table = Array.isArray(rows) ? new Table(this.tableSpec, rows) : null
    this.handlers.emit(this.update(message, null))
  }

  /**
   * Called with an event of this subscription. Returns null, or what the
   * client must do about it: RESYNC_GAP / RESYNC_EPOCH (re-subscribe for a
   * fresh snapshot) or IGNORED_STALE (counted, nothing else).
   */
  event(message) {
    if (this.status === "syncing") {
      // An event right after `subscribed`: this stream has no snapshot, so
      // the first event is where counting starts.
      this.status = "live"
      this.epoch = message.epoch
      this.seq = message.seq - 1
    }
    if (this.status !== "live") return null
    if (typeof message.seq === "number") {
      if (message.epoch !== this.epoch) return RESYNC_EPOCH
      if (message.seq <= this.seq) return IGNORED_STALE
      if (message.seq > this.seq + 1) return RESYNC_GAP
      this.seq = message.seq
    }
    const change = this.table ? this.table.apply(message.type, message.data) : null
    if (change === STALE) return IGNORED_STALE
    this.handlers.emit(this.update(message, change))
    return null
  }

  /**
   * Brings a handler that joins an existing subscription up to date: the
   * refusal, or the table (with `message: null`: there is no frame for it).
   * Returns false when there is nothing to replay from and a fresh snapshot
   * is needed.
   */
  replayTo(handler) {
    if (this.status === "failed") {
      handler(this.failure)
      return true
    }
    if (this.status !== "live") return true
    if (!this.table) return false
    handler({ type: "full_update", message: null, rows: this.table.values(), change: null })
    return true
  }

  update(message, change) {
    return {
      type: message.type,
      message,
      rows: this.table ? this.table.values() : null,
      change,
    }
  }
}
