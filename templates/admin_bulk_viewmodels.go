package templates

import "strings"

// BulkFormPage is the view model of the form that makes personalised
// one-time links in bulk.
type BulkFormPage struct {
	AdminPage
	Label        string
	Message      string
	Expiry       ExpiryInput
	Recipients   string // As typed: one "name, email" a line.
	EmailReceipt bool
	// EmailEnabled says whether uplink sends email (--smtp-url), for the
	// receipt option's hint.
	EmailEnabled bool
	// Errors maps fields (label, message, ttl, recipients) to what is
	// wrong with them; recipients may hold one line per problem.
	Errors map[string]string
}

// BatchPage is the view model of a batch of personalised links: a table
// to copy from, and its CSV.
type BatchPage struct {
	AdminPage
	Label   string // The batch's label, as its first link's, without the name.
	Expires string // When the links expire, for people; "Never" when they do not.
	CSVURL  string
	Links   []BatchLink
}

// BatchLink is one person's link in a batch.
type BatchLink struct {
	Name      string
	Email     string
	URL       string // The link's public URL, to send to the person.
	AdminURL  string // The link's dashboard page.
	StateText string // "Active", "Used", "Expired" or "Revoked".
	State     string // Its CSS class.
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// splitLines splits s at line breaks.
func splitLines(s string) []string { return strings.Split(s, "\n") }
