// Package templates renders uplink's HTML pages. Components take plain
// view-model structs built by package web; they never see the store or
// the HTTP framework.
package templates

// Page is what every page's layout needs.
type Page struct {
	Title string // Shown in the tab, before " · uplink".
	CSS   string // URL of the stylesheet.
	// Brand is the install's branding, on the pages recipients see;
	// zero elsewhere.
	Brand Brand
}

// HomePage is the view model of the start page.
type HomePage struct {
	Page
	APIBase string // The base URL to give api.video SDKs.
	Version string
}

// ErrorPage is the view model of an error page.
type ErrorPage struct {
	Page
	Status  int
	Heading string
	Message string
}

// ProblemPage documents one of uplink's own API problem types.
type ProblemPage struct {
	Page
	Code   string
	Status int
	Title  string
}
