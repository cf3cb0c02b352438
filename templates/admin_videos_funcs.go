package templates

import (
	"strconv"

	"github.com/a-h/templ"
)

// countNoun writes a count with the noun that fits it: "1 video", "3 videos".
func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// videoTitleOr is a video's title, or a stand-in for an empty one.
func videoTitleOr(title string) string {
	if title == "" {
		return "Untitled video"
	}
	return title
}

// attrState marks a form field invalid and points it at its error, when
// it has one.
func attrState(name, err string) templ.Attributes {
	if err == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": name + "-error"}
}

// attrHelp points a field at its hint, and at its error when it has
// one, marking it invalid then.
func attrHelp(name, err string) templ.Attributes {
	if err == "" {
		return templ.Attributes{"aria-describedby": name + "-hint"}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": name + "-hint " + name + "-error"}
}

// areaText is a textarea's content. HTML drops a line break right
// after the opening tag, so one is added for a value that starts with its
// own to survive.
func areaText(s string) string { return "\n" + s }
