package links

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/uplink-video/uplink/web/sniff"
)

// FormatBytes renders a size in binary (IEC) units: "512 B", "1.5 MiB",
// "126 KiB". Below 10 of a unit it keeps one decimal, from 10 on none,
// rounding half away from zero: the rule of static/js/uploader.js and
// static/js/admin_links.js (toFixed(n < 10 ? 1 : 0)), so that the uploader
// and the admin see the same figure for the same file.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n)/unit, 0
	for v >= unit && exp < 5 {
		v /= unit
		exp++
	}
	suffix := " " + string("KMGTPE"[exp]) + "iB"
	if v < 10 {
		return fmt.Sprintf("%.1f", math.Round(v*10)/10) + suffix
	}
	return fmt.Sprintf("%.0f", math.Round(v)) + suffix
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

// Duration renders a duration in the largest unit that reads well,
// rounded to the nearest whole one: "7 days" for 6 days and 23 hours and
// 59 minutes (a 7-day link seen a moment after it was made), "36 hours",
// "1 hour", "40 minutes", "less than a minute". Days start at 2 (47.5
// hours and more), hours at 1 (59.5 minutes and more).
func Duration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	nearest := func(unit time.Duration) int64 { return int64((d + unit/2) / unit) }
	switch minutes := nearest(time.Minute); {
	case minutes < 1:
		return "less than a minute"
	case minutes < 60:
		return plural(minutes, "minute")
	}
	if hours := nearest(time.Hour); hours < 48 {
		return plural(hours, "hour")
	}
	return plural(nearest(24*time.Hour), "day")
}
