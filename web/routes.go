package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/web/head"
)

// routes is the one route table of the browser-facing surface. The API
// registers its own table (web/api.Register).
func (s *Server) routes(e *echo.Echo) {
	// HEAD answers wherever GET does, in both tables, before any other
	// middleware: metrics, logs and rate limits see it as HEAD.
	head.Install(e)
	e.Use(s.metrics.Middleware, s.requestLog, securityHeaders, s.idleReadDeadline)

	e.GET("/", s.handleHome)
	e.GET("/problems/:code", s.handleProblem)
	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)
	e.GET("/metrics", s.handleMetrics, s.requireMetricsReader)
	e.GET("/static/*", s.handleStatic)
	e.GET("/favicon.ico", s.handleFavicon)
	e.GET("/brand.css", s.handleBrandCSS)
	e.GET("/brand/logo", s.handleBrandLogo)

	// Public upload links: the page, the embed, and the endpoints the
	// uploader script calls. State-changing calls must come from this
	// origin (the page or the embed itself).
	e.GET("/u/:id", s.handleUploadPage, s.limits.linkPages)
	e.GET("/embed/:id", s.handleEmbed, s.limits.linkPages)
	same := sameOrigin()
	e.POST("/u/:id/uploads", s.handleUploadStart, jsonErrors, same, s.limits.uploadStarts)
	e.GET("/u/:id/state", s.handleLinkState, jsonErrors)
	e.GET("/u/:id/uploads/:videoId", s.handleUploadStatus, jsonErrors)
	e.PUT("/u/:id/uploads/:videoId/parts/:n", s.handleUploadPart, jsonErrors, same)
	e.DELETE("/u/:id/uploads/:videoId", s.handleUploadCancel, jsonErrors, same)

	// Dashboard sign-in, open to anyone.
	e.GET("/admin/login", s.handleLoginPage)
	e.POST("/admin/login", s.handleLogin, same, limitForm(maxSignInForm))

	// The dashboard. Every route here needs a live admin session, and
	// every state-changing one the session's CSRF token; a test walks
	// this table to make sure no route escapes either. Their bodies are
	// small url-encoded forms, refused unread when they cannot be one.
	// The two dashboard forms that carry a small file (a CSV list, a
	// logo): the same guards, with a multipart body allowed up to
	// maxFileForm and parsed in memory.
	fileForm := []echo.MiddlewareFunc{s.requireAdmin, same, limitFileForm(maxFileForm), checkCSRF}
	e.POST("/admin/links/bulk", s.handleBulkCreate, fileForm...)
	e.POST("/admin/branding/logo", s.handleLogoSet, fileForm...)

	admin := e.Group("/admin", s.requireAdmin, same, limitForm(maxDashboardForm), checkCSRF)
	admin.GET("", s.handleAdminHome)
	admin.POST("/logout", s.handleLogout)

	admin.GET("/links", s.handleLinkList)
	admin.GET("/links/new", s.handleLinkNew)
	admin.GET("/links/bulk", s.handleBulkNew)
	admin.GET("/batches/:id", s.handleBatch)
	admin.GET("/batches/:id/links.csv", s.handleBatchCSV)
	admin.POST("/links", s.handleLinkCreate)
	admin.GET("/links/:id", s.handleLinkDetail)
	admin.GET("/links/:id/qr.svg", s.handleLinkQR)
	admin.GET("/links/:id/progress", s.handleLinkProgress)
	admin.POST("/links/:id/revoke", s.handleLinkRevoke)
	admin.POST("/links/:id/extend", s.handleLinkExtend)

	admin.GET("/videos", s.handleVideoList)
	admin.POST("/videos/zip", s.handleVideoZip)
	admin.POST("/videos/delete", s.handleVideoBulkDelete)
	admin.GET("/videos/:id", s.handleVideoDetail)
	admin.POST("/videos/:id", s.handleVideoUpdate)
	admin.POST("/videos/:id/delete", s.handleVideoDelete)
	admin.GET("/videos/:id/source", s.handleVideoSource)
	admin.GET("/videos/:id/thumbnail.jpg", s.handleVideoThumbnail)
	admin.GET("/videos/:id/preview.mp4", s.handleVideoPreview)
	admin.POST("/videos/:id/process", s.handleVideoProcess)

	admin.GET("/keys", s.handleKeyList)
	admin.POST("/keys", s.handleKeyCreate)
	admin.POST("/keys/:id/revoke", s.handleKeyRevoke)
	admin.GET("/tokens", s.handleTokenList)
	admin.POST("/tokens", s.handleTokenCreate)
	admin.POST("/tokens/:id/revoke", s.handleTokenRevoke)

	admin.GET("/webhooks", s.handleWebhookList)
	admin.POST("/webhooks", s.handleWebhookCreate)
	admin.GET("/webhooks/:id", s.handleWebhookDetail)
	admin.POST("/webhooks/:id/deliveries/:did/resend", s.handleWebhookResend)
	admin.POST("/webhooks/:id/test", s.handleWebhookTest)
	admin.POST("/webhooks/:id/delete", s.handleWebhookDelete)

	admin.GET("/branding", s.handleBranding)
	admin.POST("/branding/accent", s.handleAccentSet)
	admin.POST("/branding/logo/remove", s.handleLogoRemove)

	admin.GET("/account", s.handleAccount)
	admin.POST("/account/password", s.handlePasswordChange)
	admin.POST("/account/notify", s.handleNotifyChange)
	admin.POST("/account/test-email", s.handleTestEmail)
	admin.POST("/admins", s.handleAdminAdd)
	admin.POST("/admins/:id/remove", s.handleAdminRemove)

	s.api.Register(e)
}

// handleAdminHome handles "GET /admin".
func (s *Server) handleAdminHome(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/admin/links")
}
