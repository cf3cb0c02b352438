package templates

// AccountPage is the view model of the account page: the signed-in
// admin's password and email settings, and every admin of the install.
type AccountPage struct {
	AdminPage
	// PasswordError is what was wrong with the last password change.
	PasswordError string
	// Notify is whether the admin gets upload emails; EmailEnabled
	// whether uplink sends email at all (--smtp-url), and EmailServer
	// where it sends it, without the password.
	Notify       bool
	EmailEnabled bool
	EmailServer  string
	Admins       []AdminItem
	// NewAdminEmail and NewAdminError are the add form's value and its
	// problem, after a refused attempt.
	NewAdminEmail string
	NewAdminError string
	// NewAdmin is the account just added, with its generated password,
	// shown once: only the response to the add form has it.
	NewAdmin *NewAdmin
	// RemoveError says why an account was not removed.
	RemoveError string
	// Emails are the latest messages of the email queue, newest first,
	// so that an admin can see whether email goes out.
	Emails []EmailItem
}

// EmailItem is one message of the email queue.
type EmailItem struct {
	To        string
	Subject   string
	Status    string // "pending", "sent" or "failed"; also the badge's CSS class.
	Attempts  int
	Queued    Timestamp
	LastError string
}

// AdminItem is one row of the admin list.
type AdminItem struct {
	ID        string
	Email     string
	Created   Timestamp
	Notify    bool
	You       bool   // The signed-in admin.
	RemoveURL string // Empty for the last admin, who cannot be removed.
}

// NewAdmin is an account just added, with its one-time password.
type NewAdmin struct {
	Email    string
	Password string
}
