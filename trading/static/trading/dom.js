/** The few DOM helpers the panels share: building elements, keyed updates
 * with enter/leave/flash animations, and a once-a-second tick. */

const LEAVE_MS = 450

/** h("td", {class: "num"}, "1.00") -> <td class="num">1.00</td> */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue
    if (name === "class") el.className = value
    else if (name === "dataset") Object.assign(el.dataset, value)
    else el.setAttribute(name, value === true ? "" : value)
  }
  el.append(...children.flat().filter((child) => child != null))
  return el
}

const SVG_NS = "http://www.w3.org/2000/svg"

export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag)
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value)
  return el
}

/** Replays a one-shot CSS animation class (flash, tick-up, ...) on `el`. */
export function replay(el, className) {
  el.classList.remove(className)
  void el.offsetWidth // restart the animation
  el.classList.add(className)
}

/** Sets text only when it changed, so a re-render does not disturb what is
 * selected or flashing. Returns whether it changed. */
export function setText(el, text) {
  if (el.textContent === text) return false
  el.textContent = text
  return true
}

/**
 * Makes `container`'s children match `items`, in order, one element per
 * key: new ones are created (and animate in when `animate`), existing ones
 * are updated in place, missing ones fade out.
 *
 * update(el, item, isNew) fills an element; create(item) makes an empty one.
 */
export function reconcile(container, items, { key, create, update, animate = true }) {
  const existing = new Map()
  for (const el of container.children) {
    if (!el.classList.contains("leaving")) existing.set(el.dataset.key, el)
  }
  let previous = null
  for (const item of items) {
    const k = String(key(item))
    let el = existing.get(k)
    const isNew = el === undefined
    if (isNew) {
      el = create(item)
      el.dataset.key = k
      if (animate) el.classList.add("entering")
    } else {
      existing.delete(k)
    }
    update(el, item, isNew)
    const slot = previous ? previous.nextElementSibling : container.firstElementChild
    if (slot !== el) container.insertBefore(el, slot)
    previous = el
  }
  for (const el of existing.values()) {
    el.classList.add("leaving")
    setTimeout(() => el.remove(), LEAVE_MS)
  }
}

/** Calls fn every second (relative times); returns the stopper. */
export function everySecond(fn) {
  const handle = setInterval(fn, 1000)
  return () => clearInterval(handle)
}
