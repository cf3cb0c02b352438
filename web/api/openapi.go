package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3.0.3 description of this API. It is
// written by hand, to say what uplink does rather than what api.video
// does; openapi_test.go checks that its routes are exactly those of
// Register and that real responses fit its schemas.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIETag identifies this build's document, so that caches can
// revalidate it cheaply.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// handleOpenAPI handles "GET /openapi.json": the API's description. It is
// public and readable from any origin, so that API tools (Swagger UI, code
// generators) hosted elsewhere can load it.
func (a *API) handleOpenAPI(c echo.Context) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openAPIETag)
	h.Set("Access-Control-Allow-Origin", "*")
	// ServeContent answers If-None-Match with 304 and sets the length.
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(openAPIDocument))
	return nil
}
