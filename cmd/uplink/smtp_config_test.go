package main

import (
	"io"
	"strings"
	"testing"
)

// TestSMTPSettings: --smtp-url turns email on, with a sender taken from
// its user when that is an address; a wrong URL is refused without
// repeating its password.
func TestSMTPSettings(t *testing.T) {
	for _, tt := range []struct {
		description string
		env         map[string]string
		wantHost    string
		wantFrom    string
		wantErr     string
	}{
		{description: "no email", env: nil},
		{description: "the user is the sender", env: map[string]string{"UPLINK_SMTP_URL": "smtp://uplink%40example.com:pw@mail.example.com:587"},
			wantHost: "mail.example.com", wantFrom: "uplink@example.com"},
		{description: "a sender of its own", env: map[string]string{"UPLINK_SMTP_URL": "smtps://u:pw@mail.example.com", "UPLINK_SMTP_FROM": "Uplink <up@example.com>"},
			wantHost: "mail.example.com", wantFrom: "Uplink <up@example.com>"},
		{description: "a user that is not an address", env: map[string]string{"UPLINK_SMTP_URL": "smtp://apikey:pw@smtp.example.net"},
			wantHost: "smtp.example.net", wantFrom: "uplink@smtp.example.net"},
		{description: "a sender without a server", env: map[string]string{"UPLINK_SMTP_FROM": "up@example.com"}, wantErr: "--smtp-from needs --smtp-url"},
		{description: "another scheme", env: map[string]string{"UPLINK_SMTP_URL": "https://u:hunter2secret@mail.example.com"}, wantErr: "invalid --smtp-url"},
		{description: "a bad sender", env: map[string]string{"UPLINK_SMTP_URL": "smtp://mail.example.com", "UPLINK_SMTP_FROM": "nobody"}, wantErr: "invalid --smtp-from"},
	} {
		c, err := parseServe(nil, envFunc(tt.env), io.Discard)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "hunter2secret") {
				t.Errorf("%s: err=%v, want %q without the password", tt.description, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.description, err)
			continue
		}
		if tt.wantHost == "" {
			if c.smtp != nil {
				t.Errorf("%s: email is on", tt.description)
			}
			continue
		}
		if c.smtp == nil || c.smtp.Host != tt.wantHost || c.smtpFrom != tt.wantFrom {
			t.Errorf("%s: smtp=%+v from=%q, want host %s from %q", tt.description, c.smtp, c.smtpFrom, tt.wantHost, tt.wantFrom)
		}
	}
}
