/** Liquidation alerts: the most recent forced liquidations, newest first,
 * the large ones emphasised. */

import { h, reconcile, setText } from "../dom.js"
import { clock, figure, quantity, usd } from "../format.js"
import { panelView } from "../panel.js"

const STREAM = "liquidations"
const LIMIT = 50
const LARGE_USD = 100_000
const HUGE_USD = 1_000_000
// A liquidated long is a forced sell, a liquidated short a forced buy.
const LONG_SIDES = new Set(["long", "sell"])

function createRow() {
  return h("tr", {}, h("td", { class: "muted num" }), h("td", { class: "symbol" }),
    h("td", {}, h("span", { class: "side" })), h("td", { class: "num" }), h("td", { class: "num" }),
    h("td", { class: "num value" }))
}

function fillRow(tr, item) {
  const [time, symbol, side, price, qty, value] = tr.cells
  const size = Number(item.value_usd)
  const long = LONG_SIDES.has(String(item.side).toLowerCase())
  setText(time, clock(item.at))
  setText(symbol, item.symbol)
  side.firstChild.className = `side ${long ? "side-long" : "side-short"}`
  setText(side.firstChild, String(item.side ?? "").toUpperCase())
  setText(price, figure(item.price))
  setText(qty, quantity(item.quantity))
  setText(value, usd(item.value_usd))
  tr.classList.toggle("large", size >= LARGE_USD)
  tr.classList.toggle("huge", size >= HUGE_USD)
}

export function mountLiquidations(section, client, { symbol } = {}) {
  const rows = h("tbody")
  const table = h(
    "table",
    { class: "grid-table" },
    h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Time"), h("th", {}, "Symbol"), h("th", {}, "Side"),
      h("th", { class: "num" }, "Price"), h("th", { class: "num" }, "Qty"), h("th", { class: "num" }, "Value"))),
    rows,
  )
  const view = panelView(section, table)
  // Alerts carry no id: each one gets a key when it arrives.
  let items = []
  let arrivals = 0
  const arrived = (data, at) => ({ ...data, at, key: (arrivals += 1) })

  const render = (animate) => {
    const large = items.filter((item) => Number(item.value_usd) >= LARGE_USD).length
    view.meta(items.length ? `${items.length} recent · ${large} ≥ ${usd(LARGE_USD)}` : "")
    if (items.length) view.showContent()
    else view.showNote("empty", "No liquidations yet — waiting for market data. Is the coordinator running?")
    reconcile(rows, items, { key: (item) => item.key, create: createRow, update: fillRow, animate })
  }

  const unsubscribe = client.subscribe(STREAM, symbol ? { symbol } : {}, (update) => {
    const { type, message } = update
    if (type === "error") {
      view.refused(update.error)
    } else if (type === "full_update") {
      const recent = Array.isArray(message.data.liquidations) ? message.data.liquidations : []
      items = recent.slice(0, LIMIT).map((data) => arrived(data, data.timestamp))
      render(false)
    } else if (type === "liquidation") {
      items = [arrived(message.data, message.data.timestamp ?? message.timestamp), ...items].slice(0, LIMIT)
      render(true)
    }
  })
  return unsubscribe
}
