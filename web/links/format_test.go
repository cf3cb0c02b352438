package links_test

import (
	"testing"
	"time"

	"github.com/uplink-video/uplink/web/links"
)

// TestDurationRoundsToNearest pins the rounding of relative times: a
// 7-day link seen a moment after it was made closes "in 7 days", not 6.
func TestDurationRoundsToNearest(t *testing.T) {
	for _, tt := range []struct {
		description string
		d           time.Duration
		want        string
	}{
		{"a 7-day link a second after it was made", 7*24*time.Hour - time.Second, "7 days"},
		{"six and a half days", 6*24*time.Hour + 12*time.Hour, "7 days"},
		{"just under six and a half days", 6*24*time.Hour + 11*time.Hour, "6 days"},
		{"47.5 hours is two days", 47*time.Hour + 30*time.Minute, "2 days"},
		{"just under 47.5 hours", 47*time.Hour + 29*time.Minute, "47 hours"},
		{"a day and a half", 36 * time.Hour, "36 hours"},
		{"59.5 minutes is an hour", 59*time.Minute + 30*time.Second, "1 hour"},
		{"90 minutes", 90 * time.Minute, "2 hours"},
		{"40 minutes", 40 * time.Minute, "40 minutes"},
		{"one minute", 61 * time.Second, "1 minute"},
		{"29 seconds", 29 * time.Second, "less than a minute"},
	} {
		if got := links.Duration(tt.d); got != tt.want {
			t.Errorf("%s: Duration(%v)=%q, want=%q", tt.description, tt.d, got, tt.want)
		}
	}
}

// TestFormatBytesIEC pins the one size style: binary units, one decimal
// below 10 of a unit, none from 10 on, halves rounded up, as the
// uploader's script does.
func TestFormatBytesIEC(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{128512, "126 KiB"}, // 125.5 KiB: the uploader's and the admin's figure.
		{10*1024 - 1, "10.0 KiB"},
		{5 << 20, "5.0 MiB"},
		{180 << 20, "180 MiB"},
		{3 << 30, "3.0 GiB"},
	} {
		if got := links.FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%d)=%q, want=%q", tt.n, got, tt.want)
		}
	}
}
