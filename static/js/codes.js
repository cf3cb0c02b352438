// codes.js: what the uploader does with each problem the server can send
// it, and the Failure that carries one. No DOM.
//
// The server's codes are the refusals of web/links (refusal.go, Code*)
// and the few web adds (uploader_endpoints.go, ratelimit.go). A Go test
// (web/uploader_scripts_test.go) reads HANDLING below and checks that it
// names every one of them and nothing else, and that LOCAL, the codes the
// page makes up itself, take none of theirs.

// HANDLING maps each code the server can send to what the engine does:
//   - halt: the link takes no more uploads; stop every file not yet
//     under way, and say why once, for the whole page;
//   - final: this file can never go through this link; no "Try again";
//   - restart: the server let the unfinished upload go; start it again,
//     once, from the first part;
//   - jump: the server needs another part than the one sent; ask which;
//   - retry: busy for a moment; send the same request again after a wait;
//   - generic: decided by the HTTP status (5xx, 408 and 429 are tried
//     again after a wait, others fail the file with the server's words
//     and offer "Try again").
export const HANDLING = Object.freeze({
  'link-not-found': 'halt',
  'link-expired': 'halt',
  'link-revoked': 'halt',
  'link-used-up': 'halt',
  'file-empty': 'final',
  'file-too-large': 'final',
  'file-type-not-allowed': 'final',
  'upload-not-found': 'restart',
  'upload-abandoned': 'restart',
  'upload-complete': 'jump',
  'part-out-of-order': 'jump',
  'part-in-flight': 'retry',
  'too-many-parts': 'retry',
  'too-many-requests': 'retry',
  'link-busy': 'generic',
  'invalid-request': 'generic',
  'part-out-of-range': 'generic',
  'part-size-mismatch': 'generic',
  'length-required': 'generic',
  'insufficient-storage': 'generic',
  'upload-refused': 'generic',
  'upstream-unavailable': 'generic',
  'internal-error': 'generic',
  'request-refused': 'generic'
})

// LOCAL are the codes of problems the page finds itself, in the same
// shape as the server's, and what the engine does with them.
export const LOCAL = Object.freeze({
  'file-unreadable': 'final',
  'no-file': 'generic',
  'too-many-files': 'generic',
  'page-error': 'generic'
})

// Failure is an error answer (a problem document) or a network failure
// (status 0); status -1 is a problem found in the page.
export class Failure extends Error {
  constructor (status, problem, retryAfter) {
    const p = problem || {}
    super(p.title || (status > 0 ? `The server answered ${status}.` : 'The connection was interrupted.'))
    this.status = status
    this.problem = p
    this.code = p.code || ''
    this.detail = p.detail || ''
    this.retryAfter = Number(retryAfter) || 0
  }

  // how is what the engine does about it (see HANDLING).
  get how () { return HANDLING[this.code] || LOCAL[this.code] || 'generic' }

  // retryable says whether the same request may succeed later.
  get retryable () {
    const s = this.status
    return this.how === 'retry' || s === 0 || s >= 500 || s === 408 || s === 429
  }

  // final says whether trying this file again through this link is
  // pointless: "Try again" is not offered.
  get final () { return this.how === 'final' || this.how === 'halt' }

  // refused says whether the server, or the page on its behalf, turned
  // the file itself down (its type, size or emptiness).
  get refused () { return this.how === 'final' && this.code !== 'file-unreadable' }

  get text () { return this.detail ? `${this.message} ${this.detail}` : this.message }
}

// pageError wraps a bug of the page as a Failure, so that the file fails
// with words rather than silently.
export function pageError (e) {
  return e instanceof Failure ? e : new Failure(-1, { code: 'page-error', title: 'Something went wrong in this page.', detail: String((e && e.message) || e) })
}
