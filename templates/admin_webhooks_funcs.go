package templates

import "strings"

// eventBoxID is the id of an event type's checkbox.
func eventBoxID(eventType string) string {
	return "event-" + strings.ReplaceAll(eventType, ".", "-")
}
