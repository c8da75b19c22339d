/** The frame every panel shares (trading/panel.html): a note (loading,
 * empty, refused) or the content, and a summary in the header. */

import { h } from "./dom.js"

export function panelView(section, content) {
  const meta = section.querySelector(".panel-meta")
  const note = h("div", { class: "panel-note" }, "Loading…")
  content.hidden = true
  section.querySelector(".panel-body").replaceChildren(note, content)
  meta.textContent = ""

  const showNote = (kind, ...nodes) => {
    note.className = `panel-note ${kind}`
    note.replaceChildren(...nodes)
    note.hidden = false
    content.hidden = true
  }
  return {
    showNote,
    showContent() {
      note.hidden = true
      content.hidden = false
    },
    meta(text) {
      meta.textContent = text
    },
    /** The server refused the subscription (forbidden, unknown_stream...). */
    refused(error) {
      meta.textContent = ""
      showNote("error", `The server refused this panel's data — ${error?.code}: ${error?.message}`)
    },
  }
}
