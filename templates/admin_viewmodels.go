package templates

// AdminPage is what every dashboard page's layout needs.
type AdminPage struct {
	Page
	Email   string // The signed-in admin.
	CSRF    string // The session's CSRF token, for every form.
	Section string // "links", "videos", "keys" or "tokens": the active menu entry.
	Nonce   string // CSP nonce for script tags.
	// Flash is a one-line notice shown at the top, after an action.
	Flash string
}

// LoginPage is the view model of the sign-in page.
type LoginPage struct {
	Page
	CSRF  string
	Email string // What was typed, kept after a failed attempt.
	Next  string // Where to go after signing in.
	Error string
}

// FieldProblem is one refused field of a form, as the error summary lists
// it: the message, and the ID of the field it links to.
type FieldProblem struct {
	FieldID string
	Message string
}
