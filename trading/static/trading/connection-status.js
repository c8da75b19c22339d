/**
 * The connection state, always in view: live, connecting, reconnecting in
 * N s (with "retry now"), signed out (with a link to log in), or
 * disconnected. It also marks <body data-connection="..."> so the panels
 * can look stale while the data is not live.
 */

import { everySecond, h, setText } from "./dom.js"

const NOTICE_MS = 10_000

function describe(state, now) {
  switch (state.name) {
    case "connected":
      return "Live"
    case "reconnecting":
      return `Reconnecting in ${Math.max(0, Math.ceil((state.at - now) / 1000))} s`
    case "signed_out":
      return "Signed out"
    case "closed":
      return "Disconnected"
    default:
      return "Connecting…"
  }
}

export function mountConnectionStatus(root, client, { loginUrl }) {
  const text = h("span", { class: "conn-text" })
  const action = h("span", { class: "conn-action" })
  const notice = h("span", { class: "conn-notice", role: "status" })
  root.replaceChildren(h("span", { class: "conn-dot", "aria-hidden": "true" }), text, action, notice)
  let state = client.state
  let noticeUntil = 0

  const draw = () => {
    const now = Date.now()
    setText(text, describe(state, now))
    notice.hidden = now > noticeUntil
  }

  const button = (label) => {
    const el = h("button", { type: "button", class: "link" }, label)
    el.addEventListener("click", () => client.retryNow())
    return el
  }

  const stopState = client.onState((next) => {
    state = next
    root.dataset.state = next.name
    document.body.dataset.connection = next.name
    root.title = next.code ? `last close code ${next.code}` : ""
    if (next.name === "reconnecting") action.replaceChildren(button("Retry now"))
    else if (next.name === "closed") action.replaceChildren(button("Reconnect"))
    else if (next.name === "signed_out") {
      const back = location.pathname + location.hash
      action.replaceChildren(h("a", { href: `${loginUrl}?next=${encodeURIComponent(back)}` }, "Log in"))
    } else action.replaceChildren()
    draw()
  })
  // Errors the server sends outside any subscription (rate limiting, a bad
  // frame): shown for a moment, they are also in the browser log. Being
  // signed out is already the state itself.
  const stopErrors = client.on("system", "error", (message) => {
    if (message.data?.code === "unauthenticated") return
    notice.textContent = message.data?.message ?? message.data?.code ?? "server error"
    noticeUntil = Date.now() + NOTICE_MS
    draw()
  })
  const stopClock = everySecond(draw)
  return () => {
    stopState()
    stopErrors()
    stopClock()
  }
}
