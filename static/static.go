// Package static holds uplink's embedded browser assets.
package static

import "embed"

// Files holds the assets, under css/, js/ and img/. Only the scripts the
// pages load are embedded: the Node tests next to them (js/*.test.mjs,
// run by "node --test static/js/") and static/package.json, which tells
// Node that the .js files are ES modules, stay out of the binary.
//
//go:embed css js/*.js img
var Files embed.FS
