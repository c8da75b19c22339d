/** State overview: the live strategy instances of one session, one row each,
 * updated in place (a row flashes when it changes). */

import { everySecond, h, reconcile, replay, setText } from "../dom.js"
import { age } from "../format.js"
import { panelView } from "../panel.js"
import { setStateBadge, stateBadge } from "../state-badge.js"
import { STATE_MACHINES } from "../tables.js"

function displayOrder(a, b) {
  return (
    String(a.symbol).localeCompare(String(b.symbol)) ||
    String(a.strategy).localeCompare(String(b.strategy)) ||
    Number(a.id) - Number(b.id)
  )
}

function createRow() {
  return h(
    "tr",
    {},
    h("td", { class: "symbol" }),
    h("td", { class: "muted" }),
    h("td", {}, stateBadge()),
    h("td", { class: "num" }),
    h("td", { class: "num muted" }),
  )
}

function fillRow(tr, row, isNew) {
  // The version only grows (the client drops older ones), so an unchanged
  // version means an unchanged row: nothing to redraw or flash.
  if (tr.dataset.version === String(row.version)) return
  tr.dataset.version = row.version
  const [symbol, strategy, state, since, version] = tr.cells
  setText(symbol, row.symbol)
  setText(strategy, row.strategy)
  setStateBadge(state.firstChild, row.state, row.previous_state)
  since.dataset.since = row.state_changed_at ?? row.updated_at
  setText(since, age(since.dataset.since))
  setText(version, `v${row.version}`)
  if (!isNew) replay(tr, "flash")
}

export function mountStateOverview(section, client, { sessionId }) {
  const rows = h("tbody")
  const table = h(
    "table",
    { class: "grid-table" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", {}, "Symbol"), h("th", {}, "Strategy"), h("th", {}, "State"),
        h("th", { class: "num" }, "Since"), h("th", { class: "num" }, "Version")),
    ),
    rows,
  )
  const view = panelView(section, table)

  const render = (update) => {
    if (update.type === "error") {
      view.refused(update.error)
      return
    }
    const instances = [...update.rows].sort(displayOrder)
    view.meta(`${instances.length} live`)
    if (instances.length) view.showContent()
    else view.showNote("empty", "No live instances in this session yet — start one with ",
      h("code", {}, "python manage.py start_instance"), ".")
    reconcile(rows, instances, {
      key: (row) => row.id,
      create: createRow,
      update: fillRow,
      animate: update.type !== "full_update",
    })
  }

  const unsubscribe = client.subscribe(STATE_MACHINES, { session_id: sessionId }, render)
  const stopClock = everySecond(() => {
    for (const cell of rows.querySelectorAll("[data-since]")) setText(cell, age(cell.dataset.since))
  })
  return () => {
    unsubscribe()
    stopClock()
  }
}
