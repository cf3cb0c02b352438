package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dashBrowser is a browser signing in to a running uplink's dashboard: a
// cookie jar, and redirects left for the test to see.
type dashBrowser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newDashBrowser(t *testing.T, base string) *dashBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &dashBrowser{t: t, base: base, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// csrfField finds the sign-in form's CSRF token.
var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn opens the sign-in page (for its CSRF cookie and token), sends
// the form, and returns the status, the redirect and the error shown.
func (b *dashBrowser) signIn(email, password string) (status int, location, errMsg string) {
	b.t.Helper()
	resp, err := b.client.Get(b.base + "/admin/login")
	if err != nil {
		b.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("GET /admin/login: status=%d, CSRF field found=%v; want=200 and a form", resp.StatusCode, m != nil)
	}
	resp, err = b.client.PostForm(b.base+"/admin/login", url.Values{
		"_csrf": {string(m[1])}, "email": {email}, "password": {password},
	})
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e := regexp.MustCompile(`data-testid="login-error"><p>([^<]*)<`).FindSubmatch(body); e != nil {
		errMsg = string(e[1])
	}
	return resp.StatusCode, resp.Header.Get("Location"), errMsg
}

// mustSignIn signs in and fails the test unless it worked.
func (b *dashBrowser) mustSignIn(email, password string) {
	b.t.Helper()
	status, loc, msg := b.signIn(email, password)
	if status != http.StatusSeeOther || loc != "/admin/links" {
		b.t.Fatalf("sign in as %s: status=%d Location=%q, want=303 /admin/links; error: %q", email, status, loc, msg)
	}
	if !b.signedIn() {
		b.t.Fatalf("signed in as %s, but GET /admin does not see the session", email)
	}
}

// mustBeRefused checks that a sign-in fails as a wrong password does.
func (b *dashBrowser) mustBeRefused(email, password, description string) {
	b.t.Helper()
	status, _, msg := b.signIn(email, password)
	if status != http.StatusUnauthorized || msg != "Wrong email or password." {
		b.t.Errorf("sign in as %s with %s: status=%d error=%q, want=401 \"Wrong email or password.\"", email, description, status, msg)
	}
}

// signedIn reports whether GET /admin sees a live session: it goes on to
// the dashboard with one and to the sign-in page without.
func (b *dashBrowser) signedIn() bool {
	b.t.Helper()
	resp, err := b.client.Get(b.base + "/admin")
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/admin/links"
}

// generatedPassword matches a password uplink generates, alone on its line.
var generatedPassword = regexp.MustCompile(`^[a-km-zA-HJ-NP-Z2-9]{20}\n$`)

// TestAdminCommands runs the real binary: "admin create" prints a
// generated password that signs in to a running server, refuses a short
// password and a taken email, and "admin reset-password" replaces the
// password and ends the account's sessions while the server runs.
func TestAdminCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const email = "ops@example.com"

	stdout, stderr, code := runBinary(t, nil, "admin", "create", "--email", email, "--data", data)
	if code != 0 {
		t.Fatalf("admin create: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	if !generatedPassword.MatchString(stdout) {
		t.Fatalf("admin create: stdout=%q, want a generated password alone on one line", stdout)
	}
	password := strings.TrimSpace(stdout)
	if strings.Contains(stderr, password) {
		t.Errorf("admin create: stderr repeats the password: %q", stderr)
	}
	if !strings.Contains(stderr, "Created admin "+email) {
		t.Errorf("admin create: stderr=%q, want it to say the admin was created", stderr)
	}

	for _, tt := range []struct {
		description string
		args        []string
		wantInError string
	}{
		{"a short password", []string{"create", "--email", "new@example.com", "--password", "short pw"}, "at least 12 characters"},
		{"a taken email", []string{"create", "--email", email}, "already exists"},
		{"a taken email in capitals", []string{"create", "--email", strings.ToUpper(email)}, "already exists"},
		{"a bad email", []string{"create", "--email", "ops at example"}, "not an email address"},
		{"no email", []string{"create"}, "--email"},
		{"a short new password", []string{"reset-password", "--email", email, "--password", "short pw"}, "at least 12 characters"},
		{"an unknown account", []string{"reset-password", "--email", "nobody@example.com"}, "no admin with email nobody@example.com"},
	} {
		args := append(append([]string{"admin"}, tt.args...), "--data", data)
		stdout, stderr, code := runBinary(t, nil, args...)
		if code != 1 {
			t.Errorf("admin with %s: exit code=%d, want=1", tt.description, code)
		}
		if !strings.Contains(stderr, tt.wantInError) {
			t.Errorf("admin with %s: stderr=%q, want it to contain %q", tt.description, stderr, tt.wantInError)
		}
		if stdout != "" {
			t.Errorf("admin with %s: stdout=%q, want nothing", tt.description, stdout)
		}
	}
	if _, stderr, code := runBinary(t, nil, "admin", "reset-password", "--email", email, "--data", filepath.Join(t.TempDir(), "none")); code != 1 || !strings.Contains(stderr, "no uplink database") {
		t.Errorf("admin reset-password without a database: exit code=%d stderr=%q, want=1 and \"no uplink database\"", code, stderr)
	}

	srv := startServer(t, &http.Client{}, nil, "--addr", "127.0.0.1:0", "--data", data)
	if strings.Contains(srv.stdout.String(), "Sign in at") {
		t.Errorf("serve after admin create made another admin:\n%s", srv.stdout)
	}
	b := newDashBrowser(t, srv.URL)
	b.mustBeRefused(email, password+"x", "a wrong password")
	b.mustBeRefused("new@example.com", "short pw", "the refused account")
	b.mustSignIn(email, password)

	// A chosen password, on an account made while the server runs.
	const other, otherPassword = "second@example.com", "a chosen passphrase"
	stdout, stderr, code = runBinary(t, nil, "admin", "create", "--email", other, "--password", otherPassword, "--data", data)
	if code != 0 || stdout != "" {
		t.Fatalf("admin create --password: exit code=%d stdout=%q, want=0 and nothing printed; stderr: %s", code, stdout, stderr)
	}
	newDashBrowser(t, srv.URL).mustSignIn(other, otherPassword)
	otherSession := newDashBrowser(t, srv.URL)
	otherSession.mustSignIn(other, otherPassword)

	stdout, stderr, code = runBinary(t, nil, "admin", "reset-password", "--email", email, "--data", data)
	if code != 0 {
		t.Fatalf("admin reset-password: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	if !generatedPassword.MatchString(stdout) {
		t.Fatalf("admin reset-password: stdout=%q, want a generated password alone on one line", stdout)
	}
	newPassword := strings.TrimSpace(stdout)
	if newPassword == password {
		t.Fatal("admin reset-password printed the old password")
	}
	if b.signedIn() {
		t.Error("the session from before admin reset-password is still live")
	}
	if !otherSession.signedIn() {
		t.Error("admin reset-password ended another admin's session")
	}
	b.mustBeRefused(email, password, "the old password")
	b.mustSignIn(email, newPassword)

	// A chosen new password.
	const chosen = "my own new passphrase"
	if stdout, stderr, code := runBinary(t, nil, "admin", "reset-password", "--email", email, "--password", chosen, "--data", data); code != 0 || stdout != "" {
		t.Fatalf("admin reset-password --password: exit code=%d stdout=%q, want=0 and nothing printed; stderr: %s", code, stdout, stderr)
	}
	b.mustBeRefused(email, newPassword, "the replaced password")
	b.mustSignIn(email, chosen)
}

// firstPassword finds the password printed at the first start.
var firstPassword = regexp.MustCompile(`(?m)^Sign in at (\S+)/admin as (\S+) with the password\n\n {4}(\S+)\n`)

// TestAdminFirstStart: the first start on an empty data directory creates
// admin@uplink.local and prints its password once, and that password signs
// in; the second start prints none.
func TestAdminFirstStart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, &http.Client{}, nil, "--addr", "127.0.0.1:0", "--data", data)
	out := srv.stdout.String()
	m := firstPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("first start: no \"Sign in at ... with the password\" and password in stdout:\n%s", out)
	}
	if got, want := m[1], srv.URL; got != want {
		t.Errorf("first start: sign in at %q, want=%q", got, want)
	}
	if got, want := m[2], "admin@uplink.local"; got != want {
		t.Errorf("first start: admin=%q, want=%q", got, want)
	}
	// The next steps talk about links, the main feature, before API keys.
	if i, j := strings.Index(out, "/admin and create a link"), strings.Index(out, "apikey create"); i < 0 || j < 0 || i > j {
		t.Errorf("first start: the next steps do not start with links:\n%s", out)
	}
	password := m[3]
	if !generatedPassword.MatchString(password + "\n") {
		t.Errorf("first start: password %q does not look generated", password)
	}
	if strings.Contains(srv.stderr.String(), password) {
		t.Error("first start: the password is also in the log (stderr)")
	}
	b := newDashBrowser(t, srv.URL)
	b.mustBeRefused("admin@uplink.local", password[1:], "a wrong password")
	b.mustSignIn("admin@uplink.local", password)
	if got, want := srv.stop(t), 0; got != want {
		t.Fatalf("exit code after SIGTERM=%d, want=%d", got, want)
	}

	srv = startServer(t, &http.Client{}, nil, "--addr", "127.0.0.1:0", "--data", data)
	if strings.Contains(srv.stdout.String(), password) {
		t.Errorf("second start printed the password again:\n%s", srv.stdout)
	}
	newDashBrowser(t, srv.URL).mustSignIn("admin@uplink.local", password)
}

// TestAdminFirstStartFromEnvironment: UPLINK_ADMIN_EMAIL and
// UPLINK_ADMIN_PASSWORD make the first admin instead, and no password is
// printed.
func TestAdminFirstStartFromEnvironment(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const email, password = "boss@example.com", "from the environment 42"
	srv := startServer(t, &http.Client{}, []string{"UPLINK_ADMIN_EMAIL=" + email, "UPLINK_ADMIN_PASSWORD=" + password},
		"--addr", "127.0.0.1:0", "--data", data)
	out := srv.stdout.String() + srv.stderr.String()
	if strings.Contains(out, password) {
		t.Errorf("uplink printed UPLINK_ADMIN_PASSWORD:\n%s", out)
	}
	if firstPassword.MatchString(srv.stdout.String()) {
		t.Errorf("uplink printed a generated password although UPLINK_ADMIN_PASSWORD is set:\n%s", srv.stdout)
	}
	if want := "Sign in at " + srv.URL + "/admin as " + email + " with the password from UPLINK_ADMIN_PASSWORD."; !strings.Contains(srv.stdout.String(), want) {
		t.Errorf("stdout has no %q:\n%s", want, srv.stdout)
	}
	b := newDashBrowser(t, srv.URL)
	b.mustBeRefused("admin@uplink.local", password, "the default email")
	b.mustSignIn(email, password)
}

// TestAdminFirstStartEmailOnly: UPLINK_ADMIN_EMAIL alone names the first
// admin, whose password is generated and printed.
func TestAdminFirstStartEmailOnly(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const email = "boss@example.com"
	srv := startServer(t, &http.Client{}, []string{"UPLINK_ADMIN_EMAIL=" + email}, "--addr", "127.0.0.1:0", "--data", data)
	m := firstPassword.FindStringSubmatch(srv.stdout.String())
	if m == nil || m[2] != email {
		t.Fatalf("no password printed for %s:\n%s", email, srv.stdout)
	}
	newDashBrowser(t, srv.URL).mustSignIn(email, m[3])
}

// TestAdminFirstStartRejects: a bad first admin in the environment stops
// uplink before it starts, with a message naming the variable.
func TestAdminFirstStartRejects(t *testing.T) {
	for _, tt := range []struct {
		description string
		env         []string
		wantInError []string
	}{
		{"a bad email", []string{"UPLINK_ADMIN_EMAIL=boss at example"}, []string{"UPLINK_ADMIN_EMAIL", "boss at example"}},
		{"a bad email with a password", []string{"UPLINK_ADMIN_EMAIL=<boss@example.com>", "UPLINK_ADMIN_PASSWORD=long enough password"}, []string{"UPLINK_ADMIN_EMAIL"}},
		{"a short password", []string{"UPLINK_ADMIN_PASSWORD=short"}, []string{"UPLINK_ADMIN_PASSWORD", "12"}},
	} {
		t.Run(tt.description, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			stdout, stderr, code := runBinary(t, tt.env, "serve", "--addr", "127.0.0.1:0", "--data", data)
			if got, want := code, 1; got != want {
				t.Errorf("exit code=%d, want=%d", got, want)
			}
			for _, s := range tt.wantInError {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr=%q, want it to contain %q", stderr, s)
				}
			}
			if strings.Contains(stdout, listeningPrefix) {
				t.Errorf("uplink started listening:\n%s", stdout)
			}
			if dirExists(data) {
				t.Errorf("%s was created for a configuration that was refused", data)
			}
		})
	}
}
