/** A small SVG line of recent prices, coloured by the direction of the window. */

import { svg } from "./dom.js"

const WIDTH = 96
const HEIGHT = 24
const PAD = 2

export function createSparkline() {
  const line = svg("polyline", { fill: "none", "stroke-width": "1.5", "vector-effect": "non-scaling-stroke" })
  const root = svg("svg", {
    class: "spark",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    "aria-hidden": "true",
  })
  root.append(line)
  return root
}

export function drawSparkline(root, values) {
  const line = root.firstChild
  const points = values.filter(Number.isFinite)
  if (points.length < 2) {
    line.setAttribute("points", "")
    return
  }
  const low = Math.min(...points)
  const span = Math.max(...points) - low || 1
  const step = (WIDTH - 2 * PAD) / (points.length - 1)
  line.setAttribute(
    "points",
    points
      .map((v, i) => `${(PAD + i * step).toFixed(1)},${(HEIGHT - PAD - ((v - low) / span) * (HEIGHT - 2 * PAD)).toFixed(1)}`)
      .join(" "),
  )
  const trend = points.at(-1) - points[0]
  root.classList.toggle("up", trend > 0)
  root.classList.toggle("down", trend < 0)
}
