// Package static holds uplink's embedded browser assets.
package static

import "embed"

// Files holds the assets, under css/ and js/.
//
//go:embed css js
var Files embed.FS
