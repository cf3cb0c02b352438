package templates

// Brand is the install's branding on the pages recipients see: a
// stylesheet with the accent colour, and a logo. The zero Brand is
// uplink's own look.
type Brand struct {
	CSS     string // URL of the branding stylesheet; "" without branding.
	LogoURL string // "" without a logo.
	// LogoWidth and LogoHeight are the logo's size in pixels, so that
	// the page does not move when it loads.
	LogoWidth, LogoHeight int
}

// BrandingPage is the view model of the branding page.
type BrandingPage struct {
	AdminPage
	// Accent is the colour in the form; Current the one saved ("" for
	// uplink's own).
	Accent      string
	Current     string
	AccentError string
	Logo        Brand
	LogoError   string
}
