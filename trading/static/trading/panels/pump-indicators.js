/** Pump indicators: per symbol, the latest price with a sparkline of recent
 * prices, 1 m / 5 m change, volume ratio and pump score, highest score first. */

import { h, reconcile, replay, setText } from "../dom.js"
import { direction, figure, percent, ratio, score } from "../format.js"
import { panelView } from "../panel.js"
import { createSparkline, drawSparkline } from "../sparkline.js"

const STREAM = "pump_indicators"
// Prices kept per symbol for the sparkline (one per update received).
const HISTORY = 60

const TONES = { "-1": "down", 0: "flat", 1: "up" }

function createRow() {
  return h("tr", {}, h("td", { class: "symbol" }), h("td", { class: "num price" }),
    h("td", {}, createSparkline()), h("td", { class: "num" }), h("td", { class: "num" }),
    h("td", { class: "num" }), h("td", { class: "num score" }))
}

function setChange(cell, value) {
  setText(cell, percent(value))
  cell.className = `num ${TONES[direction(value)]}`
}

export function mountPumpIndicators(section, client) {
  const rows = h("tbody")
  const table = h(
    "table",
    { class: "grid-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Symbol"), h("th", { class: "num" }, "Price"), h("th", {}, "Recent"),
      h("th", { class: "num" }, "1m"), h("th", { class: "num" }, "5m"), h("th", { class: "num" }, "Vol ×"),
      h("th", { class: "num" }, "Score"))),
    rows,
  )
  const view = panelView(section, table)
  const latest = new Map() // symbol -> indicators
  const prices = new Map() // symbol -> recent prices, oldest first

  const remember = (indicators) => {
    latest.set(indicators.symbol, indicators)
    const recent = prices.get(indicators.symbol) ?? []
    recent.push(Number(indicators.price))
    prices.set(indicators.symbol, recent.slice(-HISTORY))
  }

  const fillRow = (tr, item, isNew) => {
    const [symbol, price, spark, change1m, change5m, volume, pump] = tr.cells
    const tick = Math.sign(Number(item.price) - Number(tr.dataset.price))
    tr.dataset.price = item.price
    setText(symbol, item.symbol)
    if (setText(price, figure(item.price)) && !isNew && tick) replay(price, tick > 0 ? "tick-up" : "tick-down")
    drawSparkline(spark.firstChild, prices.get(item.symbol) ?? [])
    setChange(change1m, item.change_1m_pct)
    setChange(change5m, item.change_5m_pct)
    setText(volume, ratio(item.volume_ratio))
    setText(pump, score(item.pump_score))
  }

  const render = (animate) => {
    const items = [...latest.values()].sort((a, b) => (Number(b.pump_score) || 0) - (Number(a.pump_score) || 0))
    view.meta(items.length ? `${items.length} symbols` : "")
    if (items.length) view.showContent()
    else view.showNote("empty", "Waiting for market data — is the coordinator running?")
    reconcile(rows, items, { key: (item) => item.symbol, create: createRow, update: fillRow, animate })
  }

  const unsubscribe = client.subscribe(STREAM, {}, (update) => {
    const { type, message } = update
    if (type === "error") {
      view.refused(update.error)
    } else if (type === "full_update") {
      const snapshot = Array.isArray(message.data.indicators) ? message.data.indicators : []
      latest.clear()
      snapshot.forEach(remember)
      // Symbols the snapshot no longer lists take their history with them.
      for (const symbol of prices.keys()) if (!latest.has(symbol)) prices.delete(symbol)
      render(false)
    } else if (type === "indicators") {
      remember(message.data)
      render(true)
    }
  })
  return unsubscribe
}
