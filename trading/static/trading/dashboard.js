/**
 * The dashboard page: one streams client for the whole page, and panels
 * that only listen to it. Market panels are mounted once; the session
 * panels are torn down and mounted again when the session changes.
 */

import { log } from "/static/logs/logger.js"
import { StreamsClient } from "/static/streams/ws-client.js"

import { mountConnectionStatus } from "./connection-status.js"
import { h } from "./dom.js"
import { panelView } from "./panel.js"
import { mountConditionProgress } from "./panels/condition-progress.js"
import { mountLiquidations } from "./panels/liquidations.js"
import { mountPumpIndicators } from "./panels/pump-indicators.js"
import { mountStateOverview } from "./panels/state-overview.js"
import { watchSession } from "./session-picker.js"
import { TABLES } from "./tables.js"

const SESSION_PANELS = { state: mountStateOverview, conditions: mountConditionProgress }

const panel = (name) => document.querySelector(`[data-panel="${name}"]`)

// The client's warnings and errors reach the server with the page's own.
const client = new StreamsClient({ logger: log, tables: TABLES })
// For browser tests: the page's one client and its counters.
window.__streams = { client, stats: client.stats }

mountConnectionStatus(document.querySelector("[data-connection-status]"), client, {
  loginUrl: document.body.dataset.loginUrl,
})
mountLiquidations(panel("liquidations"), client)
mountPumpIndicators(panel("pump"), client)

let shown
let teardowns = []
watchSession(document.querySelector("#session"), (sessionId) => {
  if (sessionId === shown) return
  shown = sessionId
  // Old subscriptions go first, so a panel never receives the old session's data.
  teardowns.forEach((teardown) => teardown())
  teardowns = []
  for (const [name, mount] of Object.entries(SESSION_PANELS)) {
    if (sessionId) teardowns.push(mount(panel(name), client, { sessionId }))
    else panelView(panel(name), h("div")).showNote("empty",
      "No trading session to show yet — create one with ",
      h("code", {}, "python manage.py create_session NAME --owner USER"), ".")
  }
})

client.connect()
