// Package static holds uplink's embedded browser assets.
package static

import "embed"

// Files holds the assets, under css/, js/ and img/.
//
//go:embed css js img
var Files embed.FS
