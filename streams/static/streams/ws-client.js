/**
 * The page's one connection to the streams server (PROTOCOL.md), modelled
 * on Phoenix's Socket. This is the only module that opens a WebSocket
 * (tests/test_single_websocket_owner.py keeps it so): panels ask it for
 * subscriptions and never see the socket. It knows the protocol, nothing
 * of trading, nor of where logs go: the page hands it a logger, and the
 * table spec of each stream whose rows it should keep (table.js).
 *
 * Connection states (`onState`):
 *
 *   idle --connect()--> connecting --welcome--> connected
 *   connecting | connected --close/dead--> reconnecting {at, code}
 *   reconnecting --timer / page visible / online / retryNow()--> connecting
 *   any --4401--> signed_out   (no reconnect: the user must log in)
 *   any --1000 or disconnect()--> closed   (retryNow() reconnects)
 *
 * Every subscription is re-sent on each welcome, and each brings a fresh
 * `full_update`; seq gaps and new epochs re-subscribe one subscription
 * (see subscription.js).
 */

import { fullJitter, reconnectDelay } from "./backoff.js"
import {
  BACKOFF_BASE_MS,
  CLOSE,
  DEFAULT_HEARTBEAT_MS,
  PROTOCOL_VERSION,
  SEND_BUFFER_LIMIT,
  STABLE_CONNECTION_MS,
  STATES,
  SYSTEM,
} from "./constants.js"
import { Listeners } from "./listeners.js"
import {
  IGNORED_STALE,
  RESYNC_EPOCH,
  RESYNC_GAP,
  Subscription,
  subscriptionKey,
} from "./subscription.js"
import { Timer } from "./timer.js"

const REPLIES = new Set(["subscribed", "unsubscribed", "full_update", "error"])

// Without a logger from the page, problems still reach the console, and
// the routine (resyncs, being signed out) stays quiet.
const CONSOLE_LOGGER = Object.freeze({
  debug() {},
  info() {},
  warn: (...args) => console.warn(...args),
  error: (...args) => console.error(...args),
})

/** ws:// or wss:// by the page's own protocol, on the page's host. */
export function socketUrl(path = "/ws", location = window.location) {
  const scheme = location.protocol === "https:" ? "wss" : "ws"
  return `${scheme}://${location.host}${path}`
}

export class StreamsClient {
  /**
   * `logger`: {debug, info, warn, error}, called like console's.
   * `tables`: {stream: table spec} for the streams whose rows the client
   * keeps and hands to handlers (table.js).
   */
  constructor({ url = socketUrl(), logger = CONSOLE_LOGGER, tables = {} } = {}) {
    this.url = url
    this.logger = logger
    this.tableSpecs = new Map(Object.entries(tables))
    this.state = { name: STATES.IDLE }
    this.stats = { opened: 0, resyncs: 0, gaps: 0, stale: 0, snapshots: 0, recovered: 0 }
    this.server = null // the welcome's data
    this.socket = null
    this.ready = false // welcome received on the current socket
    this.heartbeatMs = DEFAULT_HEARTBEAT_MS
    this.lastReceivedAt = 0
    this.connectedAt = 0
    this.sendBuffer = []
    this.subscriptions = new Map() // subscriptionKey -> Subscription
    this.requests = new Map() // request_id of a pending subscribe -> Subscription
    this.typed = new Map() // "stream type" -> Listeners
    this.stateListeners = new Listeners("state", logger)
    this.warned = new Set()
    this.ref = 0
    this.resumeOnShow = false
    this.reconnectTimer = new Timer(() => this.connect(), reconnectDelay)

    // A background tab's timers are throttled to a crawl: when the user
    // comes back (or the network does), don't make them wait.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.wake()
    })
    window.addEventListener("online", () => this.wake())
    // Like Phoenix: close cleanly when the page is left, and come back if
    // the browser restores it from its back/forward cache.
    window.addEventListener("pagehide", () => {
      this.resumeOnShow = this.socket !== null || this.reconnectTimer.pending
      if (this.resumeOnShow) this.disconnect()
    })
    window.addEventListener("pageshow", () => {
      if (this.resumeOnShow) this.connect()
      this.resumeOnShow = false
    })
  }

  // Public API -------------------------------------------------------------

  /** Opens the connection; a no-op while one is open or opening. */
  connect() {
    if (this.socket) return
    this.reconnectTimer.cancel()
    this.setState(STATES.CONNECTING)
    const socket = new WebSocket(this.url)
    this.socket = socket
    socket.onopen = () => {
      this.stats.opened += 1
    }
    socket.onmessage = (event) => this.onFrame(event.data)
    socket.onclose = (event) => this.onClose(event.code)
    // Counting from now means a handshake that hangs is given up on too.
    this.lastReceivedAt = Date.now()
    this.watch()
  }

  /** Closes for good (until connect() or retryNow()). */
  disconnect() {
    this.reconnectTimer.reset()
    if (this.socket) this.abandonSocket(CLOSE.NORMAL, "client disconnect")
    else this.setState(STATES.CLOSED)
  }

  /** Skips the backoff wait (the "retry now" button, a page becoming visible). */
  retryNow() {
    if (this.state.name === STATES.RECONNECTING) this.reconnectTimer.fire()
    else if (this.state.name === STATES.CLOSED) this.connect()
  }

  /**
   * Calls `handler(update)` for every message of (stream, params) until the
   * returned function is called. Handlers of the same (stream, params)
   * share one server subscription; the last one to leave unsubscribes.
   *
   * update = {type, message, rows, change}:
   *   type     "full_update", an event type, or "error" (the server refused
   *            the subscription; `update.error` is its {code, message})
   *   message  the server message (null when the client replays its table
   *            to a handler that joined a live subscription)
   *   rows     for streams with a table spec: every current row, after
   *            this update (see table.js); otherwise null
   *   change   {kind: added | updated | removed, id, row} for row events
   */
  subscribe(stream, params, handler) {
    const key = subscriptionKey(stream, params ?? {})
    const shared = this.subscriptions.has(key)
    const sub = shared ? this.subscriptions.get(key) : this.create(key, stream, params ?? {})
    const removeHandler = sub.handlers.add(handler)
    if (shared && !sub.replayTo(handler)) this.resync(sub)
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      removeHandler()
      if (sub.handlers.size === 0) this.release(key, sub)
    }
  }

  /**
   * Calls `fn(message)` for every message of `stream` with `type` ("*" for
   * all types), e.g. ("system", "error") for errors not tied to a
   * subscription. Returns the remover.
   */
  on(stream, type, fn) {
    const key = `${stream} ${type}`
    if (!this.typed.has(key)) this.typed.set(key, new Listeners(key, this.logger))
    return this.typed.get(key).add(fn)
  }

  /** Calls `fn(state)` now and on every state change. Returns the remover. */
  onState(fn) {
    const remove = this.stateListeners.add(fn)
    fn(this.state)
    return remove
  }

  /**
   * Sends a frame, or keeps it until the next connection is ready. Only for
   * frames the client has no method for: subscriptions are re-sent from
   * the subscription table on every connection, pings only while open.
   */
  push(frame) {
    if (this.ready) {
      this.send(frame)
      return
    }
    if (this.sendBuffer.length >= SEND_BUFFER_LIMIT) this.sendBuffer.shift()
    this.sendBuffer.push(frame)
  }

  // Subscriptions ------------------------------------------------------------

  create(key, stream, params) {
    const tableSpec = this.tableSpecs.get(stream)
    const sub = new Subscription(stream, params, { logger: this.logger, tableSpec })
    this.subscriptions.set(key, sub)
    if (this.ready) this.join(sub)
    return sub
  }

  join(sub) {
    this.requests.delete(sub.requestId)
    this.ref += 1
    const requestId = `sub-${this.ref}`
    this.requests.set(requestId, sub)
    sub.joined(requestId)
    this.send(sub.frame("subscribe", requestId))
  }

  /** A fresh snapshot for one subscription: the server answers a repeated
   * subscribe with a new full_update (PROTOCOL.md). */
  resync(sub) {
    if (!this.ready) return // the next welcome re-joins everything anyway
    this.stats.resyncs += 1
    this.join(sub)
  }

  /** `unavailable`: the server could not reach a store and did nothing;
   * the same subscribe is sent again after a backoff. */
  retryLater(sub) {
    sub.retries += 1
    const requestId = sub.requestId
    setTimeout(() => {
      if (sub.requestId === requestId && this.subscriptions.get(sub.key) === sub) this.resync(sub)
    }, fullJitter(sub.retries) + BACKOFF_BASE_MS)
  }

  release(key, sub) {
    this.subscriptions.delete(key)
    this.requests.delete(sub.requestId)
    if (this.ready) {
      this.ref += 1
      this.send(sub.frame("unsubscribe", `unsub-${this.ref}`))
    }
  }

  // Incoming -----------------------------------------------------------------

  onFrame(text) {
    this.lastReceivedAt = Date.now()
    let message
    try {
      message = JSON.parse(text)
    } catch {
      message = null
    }
    if (message === null || typeof message !== "object" || Array.isArray(message)) {
      this.warnOnce("(not a JSON object)", "streams: ignored a frame that is not a JSON object", {
        length: String(text).length,
      })
      return
    }
    const stream = this.streamOf(message)
    if (stream === SYSTEM && message.type === "welcome") this.onWelcome(message.data ?? {})
    this.route(stream, message)
    this.typed.get(`${stream} ${message.type}`)?.emit(message)
    this.typed.get(`${stream} *`)?.emit(message)
  }

  /** The message's stream; a message without one is a server bug, warned
   * about once per type, and handled as a connection-level message. */
  streamOf(message) {
    if (typeof message.stream === "string" && message.stream) return message.stream
    const type = typeof message.type === "string" && message.type ? message.type : "(no type)"
    this.warnOnce(`stream:${type}`, `streams: a "${type}" message arrived without a stream`, {
      type,
    })
    return SYSTEM
  }

  onWelcome(server) {
    this.server = server
    if (server.protocol !== PROTOCOL_VERSION) {
      this.logger.warn(`streams: server speaks protocol ${server.protocol}, this client ${PROTOCOL_VERSION}`, {
        protocol: server.protocol,
      })
    }
    if (server.heartbeat_interval > 0) this.heartbeatMs = server.heartbeat_interval * 1000
    this.ready = true
    this.connectedAt = Date.now()
    this.setState(STATES.CONNECTED)
    this.watch()
    this.pinger = setInterval(() => this.send({ action: "ping" }), this.heartbeatMs)
    for (const sub of this.subscriptions.values()) this.join(sub)
    for (const frame of this.sendBuffer.splice(0)) this.send(frame)
  }

  /** Replies go to the subscription that asked (by request_id); events to
   * every subscription of the stream whose params they match. */
  route(stream, message) {
    if (message.type === "error") {
      const code = message.data?.code
      const sub = this.requests.get(message.request_id)
      // Being signed out is a state the page shows, not a fault to report.
      this.logger[code === "unauthenticated" ? "info" : "warn"](
        `streams: ${stream} error ${code}: ${message.data?.message}`,
        sub ? { stream, code, params: sub.params } : { stream, code },
      )
    }
    if (message.type === "unsubscribed" && message.request_id == null) {
      // The server ended it: access was withdrawn (PROTOCOL.md).
      this.subscriptions.get(subscriptionKey(stream, message.params ?? {}))?.withdrawn(message)
      return
    }
    if (message.type === "full_update") this.stats.snapshots += 1
    if (message.type === "subscribed" && message.data?.recovered) this.stats.recovered += 1
    if (REPLIES.has(message.type)) {
      const sub = this.requests.get(message.request_id)
      sub?.reply(message)
      if (sub && message.type === "error" && message.data?.code === "unavailable") this.retryLater(sub)
      return
    }
    if (stream === SYSTEM) return
    for (const sub of this.subscriptions.values()) {
      if (sub.stream !== stream || !sub.matches(message)) continue
      const outcome = sub.event(message)
      if (outcome === RESYNC_GAP) this.stats.gaps += 1
      if (outcome === RESYNC_EPOCH) sub.forgetPosition()
      if (outcome === RESYNC_GAP || outcome === RESYNC_EPOCH) {
        this.logger.info(`streams: ${stream} resync (${outcome})`, { seq: message.seq, had: sub.seq })
        this.resync(sub)
      } else if (outcome === IGNORED_STALE) {
        this.stats.stale += 1
      }
    }
  }

  // Connection lifecycle -----------------------------------------------------

  send(frame) {
    this.socket.send(JSON.stringify(frame))
  }

  /** Keeps checking that something arrived within 2 heartbeats; if not, the
   * connection is dead even if the browser has not noticed (a sleeping
   * laptop, a NAT that forgot us): give up on it and reconnect. */
  watch() {
    clearTimeout(this.watchdog)
    const limit = 2 * this.heartbeatMs
    const wait = this.lastReceivedAt + limit - Date.now()
    if (wait > 0) {
      this.watchdog = setTimeout(() => this.watch(), wait)
      return
    }
    this.abandonSocket(CLOSE.HEARTBEAT_TIMEOUT, "nothing received for two heartbeats")
  }

  /** The page is visible again or the network is back. */
  wake() {
    if (this.state.name === STATES.RECONNECTING) {
      this.reconnectTimer.fire()
    } else if (this.socket && Date.now() - this.lastReceivedAt >= 2 * this.heartbeatMs) {
      // Dead while the tab slept and its throttled watchdog has not run
      // yet: give up on the socket now and skip the backoff wait.
      this.watch()
      this.retryNow()
    }
  }

  onClose(code) {
    const stable = this.ready && Date.now() - this.connectedAt >= STABLE_CONNECTION_MS
    this.detach()
    if (code === CLOSE.UNAUTHENTICATED) {
      this.setState(STATES.SIGNED_OUT, { code })
    } else if (code === CLOSE.NORMAL) {
      this.setState(STATES.CLOSED, { code })
    } else {
      if (stable) this.reconnectTimer.reset()
      const at = this.reconnectTimer.schedule(code)
      this.setState(STATES.RECONNECTING, { code, at, attempt: this.reconnectTimer.tries + 1 })
    }
  }

  /** Closes the current socket and handles it as closed at once, without
   * waiting for a close event that a dead connection may never deliver. */
  abandonSocket(code, reason) {
    const socket = this.socket
    socket.onopen = socket.onmessage = socket.onclose = null
    socket.close(code, reason)
    this.onClose(code)
  }

  detach() {
    clearTimeout(this.watchdog)
    clearInterval(this.pinger)
    this.socket = null
    this.ready = false
    this.requests.clear()
    for (const sub of this.subscriptions.values()) sub.detached()
  }

  setState(name, info = {}) {
    this.state = { name, ...info }
    this.stateListeners.emit(this.state)
  }

  warnOnce(key, message, context) {
    if (this.warned.has(key)) return
    this.warned.add(key)
    this.logger.warn(message, context)
  }
}
