package links_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web/links"
)

func TestParseRecipients(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		description string
		in          string
		want        []links.Recipient
		wantErr     string
	}{
		{description: "names and optional emails", in: "Ann, ann@example.com\n\nBob\n",
			want: []links.Recipient{{"Ann", "ann@example.com"}, {"Bob", ""}}},
		{description: "a spreadsheet's CSV with a header, a BOM and a quoted comma",
			in:   "\xef\xbb\xbfName,Email\r\n\"Doe, Jane\",jane@example.com\r\nCy,\r\n",
			want: []links.Recipient{{"Doe, Jane", "jane@example.com"}, {"Cy", ""}}},
		{description: "semicolons", in: "Ann;ann@example.com\nBob;bob@example.com",
			want: []links.Recipient{{"Ann", "ann@example.com"}, {"Bob", "bob@example.com"}}},
		{description: "quotes inside a name", in: "Jane \"JJ\" Doe, jj@example.com\n=HYPERLINK(\"x\")",
			want: []links.Recipient{{"Jane \"JJ\" Doe", "jj@example.com"}, {"=HYPERLINK(\"x\")", ""}}},
		{description: "tabs", in: "Ann\tann@example.com", want: []links.Recipient{{"Ann", "ann@example.com"}}},
		{description: "a bad email", in: "Ann, ann@\nBob, bob@example.com", wantErr: `Line 1: "ann@" is not an email address`},
		{description: "no name", in: "Ann\n, bob@example.com", wantErr: "Line 2: the name is missing"},
		{description: "a third column", in: "Ann, ann@example.com, extra", wantErr: "Line 1: a line has a name and an email"},
		{description: "the same person twice", in: "Ann\nBob\nann", wantErr: "Line 3: the same person as line 1"},
		{description: "nobody", in: "\n\n", wantErr: "Add at least one person"},
		{description: "too many", in: manyNames(links.MaxBatch + 1), wantErr: "at most 500"},
		{description: "not UTF-8", in: "Ren\xe9", wantErr: "not UTF-8"},
		{description: "a name that is an address with a display name", in: "Ann, Ann <ann@example.com>", wantErr: "not an email address"},
	} {
		got, err := links.ParseRecipients([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err=%v, want it to say %q", tc.description, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.description, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: [%d]=%+v, want=%+v", tc.description, i, got[i], tc.want[i])
			}
		}
	}
}

func manyNames(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("Person " + strconv.Itoa(i) + "\n")
	}
	return b.String()
}
