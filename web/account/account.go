// Package account manages admin accounts: hashing and checking passwords,
// and creating the first admin when uplink starts with none.
package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/uplink-video/uplink/store"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// cost is the bcrypt cost: about 50-100 ms per check on a small server,
// slow for an attacker with a stolen database, quick enough for a person.
const cost = 11

// Hash hashes a password for storage.
func Hash(password string) (string, error) {
	if err := CheckStrength(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("account: hash password: %w", err)
	}
	return string(h), nil
}

// Matches reports whether password is the one hash was made from. It takes
// the same time whether the password is right or wrong.
func Matches(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// dummyHash is checked against when an account does not exist, so that a
// wrong email takes as long to refuse as a wrong password. It is made on
// first use, not at package initialisation, where it slowed down every
// command (and every test binary) by a bcrypt hash.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("uplink-no-such-account"), cost)
	return h
})

// MatchesNothing spends the time of a password check, for an unknown
// account.
func MatchesNothing(password string) {
	_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
}

// CheckStrength refuses passwords that are too short or too long for
// bcrypt (which reads at most 72 bytes).
func CheckStrength(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return fmt.Errorf("the password must be at least %d characters long", MinPasswordLength)
	case len(password) > 72:
		return errors.New("the password must be at most 72 bytes long")
	}
	return nil
}

// CheckEmail refuses strings that are not a plain email address.
func CheckEmail(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return fmt.Errorf("%q is not an email address such as admin@example.com", email)
	}
	return nil
}

// Generate returns a random password of 20 characters (about 119 bits).
func Generate() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Create creates an admin account with a password; an empty password is
// replaced by a generated one, which is returned.
func Create(ctx context.Context, st *store.Store, email, password string) (store.Admin, string, error) {
	email = strings.TrimSpace(email)
	if err := CheckEmail(email); err != nil {
		return store.Admin{}, "", err
	}
	if password == "" {
		password = Generate()
	}
	h, err := Hash(password)
	if err != nil {
		return store.Admin{}, "", err
	}
	a, err := st.CreateAdmin(ctx, email, h)
	if errors.Is(err, store.ErrConflict) {
		return store.Admin{}, "", fmt.Errorf("an admin with email %s already exists", email)
	}
	return a, password, err
}

// ResetPassword gives an account a new password (generated when empty),
// ends its sessions, and returns the password.
func ResetPassword(ctx context.Context, st *store.Store, email, password string) (string, error) {
	a, err := st.FindAdminByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no admin with email %s", email)
	}
	if err != nil {
		return "", err
	}
	if password == "" {
		password = Generate()
	}
	h, err := Hash(password)
	if err != nil {
		return "", err
	}
	return password, st.SetAdminPassword(ctx, a.ID, h)
}

// DefaultAdminEmail is the first admin's email when none is configured.
const DefaultAdminEmail = "admin@uplink.local"

// Bootstrap creates the first admin when there is none: from the given
// email and password, or with DefaultAdminEmail and a generated password.
// It returns the account and, when the password was generated, the
// password, which the caller shows once. It does nothing when an admin
// exists.
func Bootstrap(ctx context.Context, st *store.Store, email, password string) (store.Admin, string, bool, error) {
	n, err := st.CountAdmins(ctx)
	if err != nil || n > 0 {
		return store.Admin{}, "", false, err
	}
	if email == "" {
		email = DefaultAdminEmail
	}
	generated := ""
	if password == "" {
		generated = Generate()
		password = generated
	}
	a, _, err := Create(ctx, st, email, password)
	if err != nil {
		return store.Admin{}, "", false, fmt.Errorf("create the first admin: %w", err)
	}
	return a, generated, true, nil
}
