package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// copyFormValues fills the mint form with the settings of an existing
// link, for Duplicate: the same expiry (counted from the new link's
// creation), limits, file types and sites, and the label followed by
// " (copy)" so that the list does not show two identical rows. The admin
// reviews the form and creates the copy, or leaves.
func copyFormValues(l store.Link) linkFormValues {
	sp := links.SpecOf(l)
	v := linkFormValues{
		label:        copyLabel(sp.Label),
		message:      sp.Message,
		embedOrigins: strings.Join(sp.EmbedOrigins, "\n"),
		askName:      sp.AskName,
		emailReceipt: sp.EmailReceipt,
		sizeUnit:     "GiB",
	}
	v.expiry, v.expiryValue, v.expiryUnit = expiryChoice(sp.TTL)
	switch sp.MaxUploads {
	case 0:
		v.uploads = "unlimited"
	case 1:
		v.uploads = "one"
	default:
		v.uploads, v.uploadsN = "n", strconv.Itoa(sp.MaxUploads)
	}
	if sp.MaxSize > 0 {
		v.size, v.sizeUnit = sizeChoice(sp.MaxSize)
	}
	switch {
	case len(sp.Types) == 1 && (sp.Types[0] == "video" || sp.Types[0] == "any"):
		v.types = sp.Types[0]
	default:
		v.types, v.formats = "formats", sp.Types
	}
	return v
}

// copyLabel is the label of a link's copy. The label's length limit still
// applies when the form is sent.
func copyLabel(label string) string {
	if label == "" {
		return ""
	}
	return label + " (copy)"
}

// expiryChoice is the expiry chooser's setting for a TTL: a preset when
// one matches, otherwise a custom value in the largest whole unit.
func expiryChoice(ttl time.Duration) (choice, value, unit string) {
	for _, p := range expiryPresets {
		if p.ttl == ttl {
			return p.value, "", ""
		}
	}
	for i := len(expiryUnits) - 1; i >= 0; i-- {
		u := expiryUnits[i]
		if ttl%u.unit == 0 {
			return "custom", strconv.FormatInt(int64(ttl/u.unit), 10), u.value
		}
	}
	return "custom", strconv.FormatInt(int64((ttl+time.Minute-1)/time.Minute), 10), "minutes"
}

// sizeChoice writes a size cap in the form's units: whole GiB when it is
// one, otherwise MiB with up to three decimals.
func sizeChoice(n int64) (value, unit string) {
	if n%(1<<30) == 0 {
		return strconv.FormatInt(n>>30, 10), "GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64), "MiB"
}
