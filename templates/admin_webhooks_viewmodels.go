package templates

// WebhookListPage is the view model of the webhooks page: the registered
// endpoints and the form that registers one.
type WebhookListPage struct {
	AdminPage
	Endpoints []WebhookItem
	Form      WebhookForm
}

// WebhookForm is the form that registers an endpoint, with the values and
// problems of a refused attempt.
type WebhookForm struct {
	URL         string
	URLError    string
	Events      []WebhookEventChoice
	EventsError string
}

// WebhookEventChoice is one event type's checkbox.
type WebhookEventChoice struct {
	Type    string // "upload.completed".
	Hint    string // What it announces, in words.
	Checked bool
}

// WebhookItem is one row of the endpoint list.
type WebhookItem struct {
	ID        string
	URL       string
	Events    []string
	Created   Timestamp
	Pending   int // Deliveries waiting to be sent or retried.
	Failed    int // Deliveries given up.
	DetailURL string
}

// WebhookDetailPage is the view model of an endpoint's page: its secret,
// its events and its delivery log.
type WebhookDetailPage struct {
	AdminPage
	ID      string
	URL     string
	Secret  string
	Events  []string
	Created Timestamp
	// Total is how many deliveries the log holds; Deliveries is one page
	// of them, newest first.
	Total      int
	Deliveries []DeliveryItem
	Nav        PageNav
	DeleteURL  string
	TestURL    string
	// Test is what came of the test event just sent, if one was.
	Test *WebhookTestResult
}

// WebhookTestResult is what came of a test event, in words.
type WebhookTestResult struct {
	OK   bool
	Text string
}

// DeliveryItem is one row of an endpoint's delivery log.
type DeliveryItem struct {
	ID       string // The delivery's number, as in the Uplink-Delivery header.
	Event    string // Its type, such as "upload.completed".
	EventID  string
	Subject  string // What it is about: "video vi…" or "link …".
	Status   string // "pending", "delivered" or "failed".
	Badge    string // The status badge's CSS class.
	Attempts int
	Created  Timestamp
	// NextTry is when a pending delivery is sent next; Text is "—" for
	// the others.
	NextTry Timestamp
	// LastResult is the last attempt's outcome: "HTTP 200", "No answer",
	// or "Not tried yet".
	LastResult string
	LastError  string
	ResentFrom string // The number of the delivery it sends again, if any.
	ResendURL  string
	Payload    string // The body, indented for reading.
	Tries      []AttemptItem
}

// AttemptItem is one attempt to send a delivery.
type AttemptItem struct {
	At       Timestamp
	Result   string // "HTTP 500", or "No answer".
	Error    string
	Duration string // "120 ms".
}
