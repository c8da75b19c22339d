/**
 * Condition progress: for each live instance of a session, how close each
 * entry condition is to being met.
 *
 * It also listens to `state_machines` for the same session (the client
 * shares that subscription with the state overview): that names each
 * instance's symbol, strategy and state, and drops instances that stopped,
 * which the progress stream itself does not announce.
 */

import { h, reconcile, replay, setText } from "../dom.js"
import { figure } from "../format.js"
import { panelView } from "../panel.js"
import { setStateBadge, stateBadge } from "../state-badge.js"
import { CONDITION_PROGRESS, STATE_MACHINES } from "../tables.js"

const instanceId = (row) => String(row.instance_id ?? row.id)

function createCard() {
  return h(
    "article",
    { class: "cond-card" },
    h("header", {}, h("span", { class: "symbol" }), h("span", { class: "muted" }), stateBadge(),
      h("span", { class: "cond-count muted" })),
    h("ul", { class: "cond-list" }),
  )
}

function createCondition() {
  return h(
    "li",
    { class: "cond" },
    h("span", { class: "cond-name" }),
    h("span", { class: "bar" }, h("span", { class: "bar-fill" })),
    h("span", { class: "cond-value num" }),
    h("span", { class: "cond-mark" }),
  )
}

function fillCondition(li, condition, isNew) {
  const [name, bar, value, mark] = li.children
  const met = Boolean(condition.met)
  const progress = Math.min(1, Math.max(0, Number(condition.progress) || 0))
  setText(name, condition.name)
  bar.firstChild.style.width = `${(progress * 100).toFixed(1)}%`
  bar.title = `${Math.round(progress * 100)}%`
  setText(value, `${figure(condition.value)} / ${figure(condition.threshold)}`)
  setText(mark, met ? "met" : "unmet")
  if (li.classList.contains("met") !== met) {
    li.classList.toggle("met", met)
    if (!isNew) replay(li, "flash")
  }
}

function fillCard(card, row) {
  const [symbol, strategy, badge, count] = card.firstChild.children
  const conditions = Array.isArray(row.conditions) ? row.conditions : []
  setText(symbol, row.symbol ?? `#${instanceId(row)}`)
  setText(strategy, row.strategy ?? "")
  setStateBadge(badge, row.state, row.previous_state)
  badge.hidden = !row.state
  setText(count, `${conditions.filter((c) => c.met).length}/${conditions.length} met`)
  reconcile(card.lastChild, conditions, {
    key: (condition) => condition.name,
    create: createCondition,
    update: fillCondition,
    animate: false,
  })
}

export function mountConditionProgress(section, client, { sessionId }) {
  const cards = h("div", { class: "cond-cards" })
  const view = panelView(section, cards)
  const params = { session_id: sessionId }
  let progress = null // rows of condition_progress, once its snapshot arrived
  let live = null // instance id -> state_machines row, once known

  const render = (animate) => {
    if (progress === null) return
    const rows = progress
      .filter((row) => live === null || live.has(instanceId(row)))
      .map((row) => ({ ...live?.get(instanceId(row)), ...row }))
    const total = rows.reduce((sum, row) => sum + (row.conditions?.length ?? 0), 0)
    const met = rows.reduce((sum, row) => sum + (row.conditions?.filter((c) => c.met).length ?? 0), 0)
    view.meta(rows.length ? `${met}/${total} met` : "")
    if (rows.length) view.showContent()
    else view.showNote("empty", "No condition progress yet — running instances report it through the coordinator; start one with ",
      h("code", {}, "python manage.py start_instance"), ".")
    reconcile(cards, rows, { key: instanceId, create: createCard, update: fillCard, animate })
  }

  const stopProgress = client.subscribe(CONDITION_PROGRESS, params, (update) => {
    if (update.type === "error") {
      progress = null
      view.refused(update.error)
      return
    }
    progress = update.rows ?? []
    render(update.type !== "full_update")
  })
  const stopStates = client.subscribe(STATE_MACHINES, params, (update) => {
    live = update.type === "error" ? null : new Map(update.rows.map((row) => [String(row.id), row]))
    render(update.change?.kind === "added")
  })
  return () => {
    stopProgress()
    stopStates()
  }
}
