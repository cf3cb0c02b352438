package templates

// KeyListPage is the view model of the API keys page: the create form,
// every key, and, right after creating one, its secret.
type KeyListPage struct {
	AdminPage
	Keys []KeyItem
	// NewKey is the key just created. Only the response to the create
	// form has it: the secret is shown once and kept nowhere.
	NewKey *NewKey
	// Name and NameError are the create form's value and its problem,
	// after a refused attempt.
	Name      string
	NameError string
	APIBase   string // The API's base URL, for the usage example.
}

// NewKey is a freshly created API key with its secret.
type NewKey struct {
	Name   string
	Secret string
}

// KeyItem is one row of the API key list.
type KeyItem struct {
	ID        string
	Name      string
	Hint      string // The secret's first characters.
	Created   Timestamp
	LastUsed  Timestamp // Text is "Never" when the key was never used.
	Status    string    // "active" or "revoked"; also the badge's CSS class.
	RevokeURL string    // Empty for revoked keys.
}

// TokenListPage is the view model of the upload token list.
type TokenListPage struct {
	AdminPage
	Total  int
	Tokens []TokenItem
	Nav    PageNav
	// TTLs are the create form's lifetimes; TTLError says why the last
	// one sent was refused.
	TTLs     []Choice
	TTLError string
}

// TokenItem is one row of the upload token list.
type TokenItem struct {
	ID      string
	TTL     string    // "1 hour", or "No expiry".
	Expires Timestamp // Text is "Never" for tokens without a TTL.
	Created Timestamp
	Status  string // "active", "expired" or "deleted"; also the badge's CSS class.
	// LinkLabel and LinkURL name the link the token backs; empty for
	// tokens created through the API.
	LinkLabel string
	LinkURL   string
	Uploads   int // Uploads started with the token.
	// RevokeURL, when set, revokes the token: only active tokens made
	// through the API or this page have one (a link's token goes with
	// its link).
	RevokeURL string
}
