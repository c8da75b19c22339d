/** The session selector. The choice lives in the URL hash (#session=ID), so
 * a reload, the back button or a shared link shows the same session. */

function fromHash() {
  return new URLSearchParams(location.hash.slice(1)).get("session")
}

/** Calls onChange(sessionId or null) now and whenever the choice changes;
 * returns the remover. */
export function watchSession(select, onChange) {
  const apply = () => {
    const wanted = fromHash()
    if ([...select.options].some((option) => option.value === wanted)) select.value = wanted
    onChange(select.value || null)
  }
  const choose = () => {
    location.hash = `session=${select.value}`
  }
  select.addEventListener("change", choose)
  window.addEventListener("hashchange", apply)
  apply()
  return () => {
    select.removeEventListener("change", choose)
    window.removeEventListener("hashchange", apply)
  }
}
