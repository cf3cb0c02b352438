package links

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uplink-video/uplink/store"
)

// Recipient is the person a personalised link is made for: a name, and
// an email address or "".
type Recipient struct {
	Name  string
	Email string
}

// MaxBatch is the most links one batch makes.
const MaxBatch = 500

// maxRecipientName is the longest name, as the store allows.
const maxRecipientName = 200

// ParseRecipients reads one recipient a line: a name, then optionally a
// comma (or a semicolon or a tab, as spreadsheets export) and an email
// address. It is CSV, so a name with a comma is quoted ("Doe, Jane").
// Blank lines are skipped, and so is a first line naming the columns
// (name, email). Returns every line's problem, by line number, in one
// error.
func ParseRecipients(text []byte) ([]Recipient, error) {
	text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf")) // A spreadsheet's byte order mark.
	if !utf8.Valid(text) {
		return nil, errors.New("The list is not UTF-8 text: save the CSV as UTF-8 and try again.")
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.Comma = delimiter(text)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	// A quote inside a name (Jane "JJ" Doe) is kept as typed.
	r.LazyQuotes = true
	var (
		out  []Recipient
		errs []string
		seen = map[string]int{}
	)
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			errs = append(errs, fmt.Sprintf("Line %d: it is not valid CSV (%v).", line, errors.Unwrap(err)))
			break
		}
		line, _ := r.FieldPos(0) // Only valid after a successful Read.
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first && len(rec) >= 1 && strings.EqualFold(rec[0], "name") {
			continue // The header.
		}
		if len(rec) == 0 || (len(rec) == 1 && rec[0] == "") || (len(rec) == 2 && rec[0] == "" && rec[1] == "") {
			continue
		}
		p := Recipient{Name: rec[0]}
		if len(rec) > 1 {
			p.Email = rec[1]
		}
		switch {
		case len(rec) > 2 && strings.Join(rec[2:], "") != "":
			errs = append(errs, fmt.Sprintf("Line %d: a line has a name and an email, nothing more.", line))
		case p.Name == "":
			errs = append(errs, fmt.Sprintf("Line %d: the name is missing.", line))
		case utf8.RuneCountInString(p.Name) > maxRecipientName || strings.IndexFunc(p.Name, unicode.IsControl) >= 0:
			errs = append(errs, fmt.Sprintf("Line %d: the name must be plain text of at most %d characters.", line, maxRecipientName))
		case p.Email != "" && !plainAddress(p.Email):
			errs = append(errs, fmt.Sprintf("Line %d: %q is not an email address such as jane@example.com.", line, p.Email))
		default:
			key := strings.ToLower(p.Name + "\x00" + p.Email)
			if prev, ok := seen[key]; ok {
				errs = append(errs, fmt.Sprintf("Line %d: the same person as line %d.", line, prev))
				continue
			}
			seen[key] = line
			out = append(out, p)
		}
		if len(errs) >= 10 {
			errs = append(errs, "…and maybe more: fix these first.")
			break
		}
	}
	switch {
	case len(errs) > 0:
		return nil, errors.New(strings.Join(errs, "\n"))
	case len(out) == 0:
		return nil, errors.New("Add at least one person: a name, and an email if you like, on each line.")
	case len(out) > MaxBatch:
		return nil, fmt.Errorf("That is %d people: one batch makes at most %d links.", len(out), MaxBatch)
	}
	return out, nil
}

// delimiter guesses the separator of a list from its first line: a
// semicolon or a tab when there is one and no comma, else a comma.
func delimiter(text []byte) rune {
	first, _, _ := bytes.Cut(text, []byte("\n"))
	if bytes.ContainsRune(first, ',') {
		return ','
	}
	for _, d := range []rune{';', '\t'} {
		if bytes.ContainsRune(first, d) {
			return d
		}
	}
	return ','
}

// plainAddress reports whether s is a bare address (no display name).
func plainAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// CreateBatch makes one one-time link per person from sp, all or none,
// and returns the batch ID with the links in the order given. Each link's
// label is sp.Label followed by the person's name ("Wedding: Jane"), or
// the name alone when sp.Label is empty. With emailReceipt, whoever
// uploads through a link with an email gets a receipt there (when uplink
// sends email). Returns FieldErrors as Create does.
func (s *Service) CreateBatch(ctx context.Context, sp Spec, people []Recipient, emailReceipt bool) (string, []store.Link, error) {
	if len(people) == 0 || len(people) > MaxBatch {
		return "", nil, FieldErrors{"recipients": fmt.Sprintf("A batch makes from 1 to %d links.", MaxBatch)}
	}
	prefix := strings.TrimSpace(sp.Label)
	sp.MaxUploads = 1
	batch := make([]store.LinkCreate, 0, len(people))
	for _, p := range people {
		one := sp
		one.Label = p.Name
		if prefix != "" {
			one.Label = prefix + ": " + p.Name
		}
		if err := one.Validate(); err != nil {
			var fe FieldErrors
			if errors.As(err, &fe) && fe["label"] != "" {
				fe["label"] = fmt.Sprintf("The label and the name %q together are too long: each link's label is limited to %d characters.", p.Name, maxLabel)
			}
			return "", nil, err
		}
		batch = append(batch, store.LinkCreate{
			Label: one.Label, Message: one.Message, TTL: int(one.TTL / time.Second), MaxUploads: 1,
			MaxSize: one.MaxSize, AllowedTypes: one.Types, EmbedOrigins: one.EmbedOrigins, AskName: one.AskName,
			RecipientName: p.Name, RecipientEmail: p.Email, EmailReceipt: emailReceipt,
		})
	}
	return s.store.CreateLinkBatch(ctx, batch)
}
