/** Numbers and times the way traders read them: fixed decimals, explicit
 * signs, thousands separators, and a dash for a value that is missing. */

const DASH = "—"
const formatters = new Map()

function fixed(value, decimals) {
  if (!formatters.has(decimals)) {
    formatters.set(
      decimals,
      new Intl.NumberFormat("en-US", {
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      }),
    )
  }
  return formatters.get(decimals).format(value)
}

function number(value) {
  const n = typeof value === "string" ? Number(value) : value
  return typeof n === "number" && Number.isFinite(n) ? n : null
}

/** Decimals that keep a figure's significant digits: 67,234.50, 1.2345, 0.004512. */
function decimalsFor(n) {
  const size = Math.abs(n)
  if (size >= 10 || size === 0) return 2
  if (size >= 1) return 4
  if (size >= 0.01) return 5
  return 8
}

/** A price or an indicator reading, with as many decimals as its size needs. */
export function figure(value) {
  const n = number(value)
  return n === null ? DASH : fixed(n, decimalsFor(n))
}

export function quantity(value) {
  const n = number(value)
  return n === null ? DASH : fixed(n, Math.abs(n) >= 100 ? 2 : 4)
}

export function usd(value) {
  const n = number(value)
  return n === null ? DASH : `$${fixed(n, 0)}`
}

/** "+1.25%" / "-0.40%": the sign is always shown. */
export function percent(value) {
  const n = number(value)
  if (n === null) return DASH
  return `${n > 0 ? "+" : ""}${fixed(n, 2)}%`
}

export function ratio(value) {
  const n = number(value)
  return n === null ? DASH : `${fixed(n, 2)}×`
}

export function score(value) {
  const n = number(value)
  return n === null ? DASH : fixed(n, 2)
}

/** -1, 0 or 1: which colour a change is shown in. */
export function direction(value) {
  const n = number(value)
  return n === null || n === 0 ? 0 : Math.sign(n)
}

/** "12s", "4m 05s", "3h 12m", "2d 4h" since an ISO time. */
export function age(iso, now = Date.now()) {
  const then = Date.parse(iso)
  if (Number.isNaN(then)) return DASH
  const seconds = Math.max(0, Math.floor((now - then) / 1000))
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, "0")}s`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`
  return `${Math.floor(hours / 24)}d ${hours % 24}h`
}

/** Local wall-clock time, to the second. */
export function clock(iso) {
  const then = new Date(iso)
  return Number.isNaN(then.getTime()) ? DASH : then.toLocaleTimeString("en-GB", { hour12: false })
}
