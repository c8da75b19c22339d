/** A strategy state as a coloured badge; the colours live in dashboard.css,
 * one class per wire value (state-idle, state-in_position, ...). */

import { h } from "./dom.js"

export function stateBadge() {
  return h("span", { class: "badge" })
}

export function setStateBadge(badge, state, previous) {
  badge.className = `badge state-${state}`
  badge.textContent = String(state ?? "unknown").replaceAll("_", " ")
  badge.title = previous ? `from ${previous.replaceAll("_", " ")}` : ""
}
