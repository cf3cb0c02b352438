package templates

import "strconv"

// Choice is one option of a radio group, checkbox list or select.
type Choice struct {
	Value   string
	Label   string
	Checked bool // Checked (radio, checkbox) or selected (select).
}

// ExpiryInput is the expiry chooser of the mint and extend forms: presets
// as radio buttons, one of which is "custom", with a number and a unit.
type ExpiryInput struct {
	Presets []Choice // Values such as "1h", "7d", "never", "custom".
	Value   string   // The custom number, as typed.
	Units   []Choice // "minutes", "hours", "days".
}

// LinkForm is what the mint form holds: as typed, so that a form with
// errors comes back as it was sent.
type LinkForm struct {
	Label        string
	Message      string
	Expiry       ExpiryInput
	Uploads      []Choice // "one", "n", "unlimited".
	UploadsN     string   // The number of uploads for "n", as typed.
	MaxSize      string   // As typed; empty is no limit.
	MaxSizeUnits []Choice // "MiB", "GiB".
	Types        []Choice // "video", "any", "formats".
	Formats      []Choice // The video formats, for "formats".
	EmbedOrigins string   // One origin per line.
	AskName      bool
	EmailReceipt bool // Email the uploader a receipt.
}

// LinkFormPage is the view model of the mint form.
type LinkFormPage struct {
	AdminPage
	Form LinkForm
	// Errors maps fields (label, message, ttl, maxUploads, maxSize,
	// types, embedOrigins) to what is wrong with them.
	Errors map[string]string
}

// LinkListFilter is the list's search, filter and order, as in the query.
type LinkListFilter struct {
	Label string
	State string
	Sort  string
	Dir   string // "asc" or "desc".
}

// LinkRow is one link in the list.
type LinkRow struct {
	ID          string
	URL         string // The link's dashboard page.
	Label       string
	State       string // "active", "expired", "used_up" or "revoked".
	StateText   string
	UploadsText string // "2 / 5", "3 / unlimited".
	ExpiresText string // Relative: "in 3 days", "2 hours ago", "never".
	ExpiresAt   string // Absolute, for people; empty for never.
	ExpiresISO  string // Absolute, for <time datetime>.
	CreatedAt   string
	CreatedISO  string
}

// LinkListPage is the view model of the list of links.
type LinkListPage struct {
	AdminPage
	Filter LinkListFilter
	States []Choice
	Sorts  []Choice
	Dirs   []Choice
	Rows   []LinkRow
	Total  int // Links matching the filter.
	Nav    PageNav
	// NoLinks is true when there are no links at all, rather than none
	// matching the filter.
	NoLinks bool
	// Filtered is true when a search or state filter is in use.
	Filtered bool
}

// Setting is one of a link's settings, as a term and its value.
type Setting struct {
	Term  string
	Value string
	// At, when set, makes Value an instant: it shows in a <time> element
	// that the page's script rewrites in the viewer's zone, followed by
	// Note ("(in 7 days)").
	At   Timestamp
	Note string
}

// UploadRow is one upload through a link.
type UploadRow struct {
	ID           string
	VideoID      string
	VideoURL     string // The video's dashboard page; empty while starting.
	Filename     string
	Title        string
	Uploader     string // "Name <email>" when the link asked for it.
	Status       string // "starting", "uploading", "completed", "released".
	StatusText   string
	Size         int64
	SizeText     string
	Received     int64
	ReceivedText string
	Percent      int
	InFlight     bool // Starting or uploading: live progress applies.
	StartedAt    string
	StartedISO   string
	Detail       string // The SHA-256 once completed; why it stopped once released.
	// ThumbnailURL is the video's thumbnail; empty without one.
	ThumbnailURL string
}

// EventRow is one entry of a link's timeline.
type EventRow struct {
	Kind   string
	Text   string // "Upload started", "Refused"...
	Detail string // The reason of a refusal, cancel or abandon.
	File   string // The name of the event's file, if it has one.
	At     string
	AtISO  string
}

// LinkDetailPage is the view model of a link's page.
type LinkDetailPage struct {
	AdminPage
	ID           string
	Label        string
	Message      string
	URL          string // The shareable URL.
	QRURL        string
	EmbedURL     string
	EmbedSnippet string // Empty when no origin may embed the link.
	EmbedOrigins []string
	State        string
	StateText    string
	ExpiresText  string
	Settings     []Setting
	Uploads      []UploadRow
	Events       []EventRow
	CanRevoke    bool
	// Closed, when set, says why the link takes no more uploads ("It
	// expired on …"); the page then offers Duplicate (and Extend when it
	// expired) instead of the Share block.
	Closed      string
	CanExtend   bool
	Extend      ExpiryInput
	ExtendError string
	// ProgressURL is polled for live progress while Live is true.
	ProgressURL string
	Live        bool
	ScriptURL   string
}

// linkFieldOrder is the order of the mint form's fields, for the summary of
// errors at its top.
var linkFieldOrder = []string{"label", "message", "ttl", "maxUploads", "maxSize", "types", "embedOrigins"}

// linkFieldID returns the ID of the element that holds a field of the mint
// form, for the summary's links and aria-describedby.
func linkFieldID(field string) string {
	switch field {
	case "label":
		return "link-label"
	case "message":
		return "link-message"
	case "ttl":
		return "link-expiry"
	case "maxUploads":
		return "link-uploads"
	case "maxSize":
		return "link-max-size"
	case "types":
		return "link-types"
	case "embedOrigins":
		return "link-embed-origins"
	}
	return "main"
}

// linkDescribedBy lists the IDs of a field's hint and error message.
func linkDescribedBy(id string, hint bool, err string) string {
	ids := ""
	if hint {
		ids = id + "-hint"
	}
	if err != "" {
		if ids != "" {
			ids += " "
		}
		ids += id + "-error"
	}
	return ids
}

// linkCountText says how many of something there are: "1 link", "3 links".
func linkCountText(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// sortCaption describes the list's order for screen readers.
func (p LinkListPage) sortCaption() string {
	by, dir := p.Filter.Sort, "descending"
	for _, c := range p.Sorts {
		if c.Checked {
			by = c.Label
		}
	}
	if p.Filter.Dir == "asc" {
		dir = "ascending"
	}
	return "sorted by " + by + ", " + dir
}

// linkProblems lists the mint form's errors in the order of its fields,
// for the error summary.
func linkProblems(errs map[string]string) []FieldProblem {
	var out []FieldProblem
	for _, k := range linkFieldOrder {
		if msg, ok := errs[k]; ok {
			out = append(out, FieldProblem{FieldID: linkFieldID(k), Message: msg})
		}
	}
	return out
}
