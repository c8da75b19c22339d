/**
 * trading's streams whose rows the streams client keeps for the panels
 * (messages in trading/messages.py), as table specs (streams' table.js).
 */

export const STATE_MACHINES = "state_machines"
export const CONDITION_PROGRESS = "condition_progress"

export const TABLES = Object.freeze({
  [STATE_MACHINES]: { rows: "instances", key: "id", removes: ["instance_removed"], version: "version" },
  // Progress is about an instance and has no version of its own; stopped
  // instances leave through state_machines (the panel listens to both).
  [CONDITION_PROGRESS]: { rows: "instances", key: "instance_id" },
})
