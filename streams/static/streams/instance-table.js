/**
 * The client's copy of an instance table (a `full_update` of the form
 * `{"instances": [...]}`), kept so that a late or repeated message can never
 * roll a row back.
 *
 * Generic: a row is keyed on `data.id` (or `data.instance_id`, for streams
 * that describe something about an instance) and ordered by `data.version`
 * when the stream has one. `instance_removed` deletes a row; any other event
 * naming a row merges into it. The highest version seen per id is kept even
 * after a removal, so a state_change that overtook the removal cannot bring
 * the row back.
 */

export const REMOVED = "instance_removed"
export const STALE = Object.freeze({ kind: "stale" })

export function rowKey(data) {
  const id = data == null ? null : data.id ?? data.instance_id
  return id == null ? null : String(id)
}

export class InstanceTable {
  constructor(instances) {
    this.rows = new Map()
    this.versions = new Map()
    for (const item of instances) {
      const id = rowKey(item)
      if (id === null) continue
      this.rows.set(id, Object.freeze({ ...item }))
      if (item.version != null) this.versions.set(id, item.version)
    }
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
    const id = rowKey(data)
    if (id === null) return null
    const removal = type === REMOVED
    const known = this.versions.get(id)
    const version = data.version
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
