package links

import (
	"fmt"
	"strings"
	"time"

	"github.com/uplink-video/uplink/web/sniff"
)

// FormatBytes renders a size in binary units: "512 B", "1.5 MiB", "10 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[exp]) + "iB"
}

// TypesText says in words which files a link takes.
func TypesText(types []string) string {
	var names []string
	for _, t := range types {
		switch t {
		case "any":
			return "any file"
		case "video":
			var labels []string
			for _, f := range sniff.VideoFormats() {
				labels = append(labels, f.Label)
			}
			return "video files (" + strings.Join(labels, ", ") + ")"
		}
		if f, ok := sniff.Lookup(t); ok {
			names = append(names, f.Label)
		}
	}
	return strings.Join(names, ", ") + " files"
}

// ClosesText says when a link stops taking uploads, relative to now:
// "Closes in 3 days", "Closes in 40 minutes", "Never closes".
func ClosesText(expires *time.Time, now time.Time) string {
	if expires == nil {
		return "Never closes"
	}
	d := expires.Sub(now)
	if d <= 0 {
		return "Closed"
	}
	return "Closes in " + Duration(d)
}

// Duration renders a duration in the largest whole unit: "3 days",
// "1 hour", "40 minutes", "less than a minute".
func Duration(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Hour:
		return "1 hour"
	case d >= time.Minute:
		return plural(int(d/time.Minute), "minute")
	}
	return "less than a minute"
}
