// The login page's one behaviour, kept out of the page so its CSP can
// forbid inline scripts: the dashboard keeps the chosen session in the URL
// hash, which the browser carried here but a form post would drop, so it
// is handed on in `next`.
const next = document.querySelector('input[name="next"]')
if (next && location.hash && next.value && !next.value.includes("#")) next.value += location.hash
