/** PROTOCOL.md version 1 as the browser sees it, and the client's timings. */

export const PROTOCOL_VERSION = 1
export const SYSTEM = "system"

export const CLOSE = Object.freeze({
  NORMAL: 1000,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  UNAUTHENTICATED: 4401,
  // Also what this client closes a socket with when it stops hearing from it.
  HEARTBEAT_TIMEOUT: 4408,
  RATE_LIMITED: 4429,
})

export const STATES = Object.freeze({
  IDLE: "idle",
  CONNECTING: "connecting",
  CONNECTED: "connected",
  RECONNECTING: "reconnecting",
  SIGNED_OUT: "signed_out",
  CLOSED: "closed",
})

// Used until the server's welcome names the real interval, so a handshake
// that hangs is given up on too.
export const DEFAULT_HEARTBEAT_MS = 20_000

// Reconnect delays: exponential backoff with full jitter (PROTOCOL.md).
export const BACKOFF_BASE_MS = 500
export const BACKOFF_CAP_MS = 30_000
// Close codes that ask the client to stay away for a while: the backoff
// is added on top of this floor. 4429: we sent too much; 1013: the server
// is overloaded (or we were too slow), so don't come straight back.
export const BACKOFF_FLOOR_MS = Object.freeze({
  [CLOSE.RATE_LIMITED]: 60_000,
  [CLOSE.TRY_AGAIN_LATER]: 2_000,
})
// A connection that lived this long was healthy: the next drop starts the
// backoff afresh. A server that accepts and then fails at once does not.
export const STABLE_CONNECTION_MS = 10_000

// Frames pushed while disconnected wait here, oldest dropped beyond this.
export const SEND_BUFFER_LIMIT = 100
