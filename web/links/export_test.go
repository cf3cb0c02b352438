package links

// ValidLinkID exports validLinkID to the external tests, for fuzzing.
var ValidLinkID = validLinkID
