package links

// ValidLinkID exports validLinkID to the external tests, for fuzzing.
var ValidLinkID = validLinkID

// CheckType exports checkType to the external tests, which compare it
// with the uploader's own check (static/js/sniff.js).
var CheckType = checkType
