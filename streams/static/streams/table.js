/**
 * The client's copy of a stream's rows, kept so that a late or repeated
 * message can never roll a row back. Which streams have rows, and what
 * they look like, is the page's to say, in a spec per stream:
 *
 *   rows     the key of the `full_update`'s data that holds the rows
 *   key      the field that names a row, in the rows and in the events
 *   removes  the event types that delete the row they name
 *   version  the field that orders a row's changes (none: the last wins)
 *
 * Any other event naming a row merges into it. The highest version seen
 * per row is kept even after a removal, so an update that overtook the
 * removal cannot bring the row back.
 */

export const STALE = Object.freeze({ kind: "stale" })

export class Table {
  constructor(spec, rows) {
    this.spec = spec
    this.removes = new Set(spec.removes ?? [])
    this.rows = new Map()
    this.versions = new Map()
    for (const item of rows) {
      const id = this.keyOf(item)
      if (id === null) continue
      this.rows.set(id, Object.freeze({ ...item }))
      const version = this.versionOf(item)
      if (version != null) this.versions.set(id, version)
    }
  }

  keyOf(data) {
    const id = data?.[this.spec.key]
    return id == null ? null : String(id)
  }

  versionOf(data) {
    return this.spec.version == null ? null : data[this.spec.version]
  }

  values() {
    return [...this.rows.values()]
  }

  /**
   * Called for each event of the subscription, in seq order. Returns the
   * change ({kind: "added" | "updated" | "removed", id, row}), STALE when
   * the event is older than what the table holds, or null when the event
   * is not about a row.
   */
  apply(type, data) {
    const id = this.keyOf(data)
    if (id === null) return null
    const removal = this.removes.has(type)
    const known = this.versions.get(id)
    const version = this.versionOf(data)
    // A removal may repeat the version of the row it removes (a delete does
    // not save); an update must be strictly newer.
    if (known != null && version != null && (removal ? version < known : version <= known)) {
      return STALE
    }
    if (version != null) this.versions.set(id, version)
    const old = this.rows.get(id)
    if (removal) {
      this.rows.delete(id)
      return { kind: "removed", id, row: old ?? null }
    }
    // Frozen: every handler of the subscription is given the same rows.
    const row = Object.freeze({ ...old, ...data })
    this.rows.set(id, row)
    return { kind: old ? "updated" : "added", id, row }
  }
}
