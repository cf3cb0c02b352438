package api

import (
	"errors"
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
)

// uploadToken is api.video's UploadToken object. expiresAt is left out
// for tokens that never expire, as in api.video's examples.
type uploadToken struct {
	Token     string  `json:"token"`
	TTL       int     `json:"ttl"`
	CreatedAt string  `json:"createdAt"`
	ExpiresAt *string `json:"expiresAt,omitempty"`
}

func tokenJSON(t store.UploadToken) uploadToken {
	j := uploadToken{Token: t.ID, TTL: t.TTL, CreatedAt: atom(t.CreatedAt)}
	if t.ExpiresAt != nil {
		e := atom(*t.ExpiresAt)
		j.ExpiresAt = &e
	}
	return j
}

// handleTokenCreate handles "POST /upload-tokens".
func (a *API) handleTokenCreate(c echo.Context) error {
	var body struct {
		TTL *int64 `json:"ttl"`
	}
	if err := a.decodeOptionalJSON(c, &body); err != nil {
		return err
	}
	ttl := int64(0)
	if body.TTL != nil {
		ttl = *body.TTL
	}
	if ttl < 0 || ttl > store.MaxTokenTTL {
		return a.problem(codeInvalidAttribute, "ttl", fmt.Sprintf("ttl must be a number of seconds from 0 (never expires) to %d.", store.MaxTokenTTL))
	}
	t, err := a.store.CreateUploadToken(c.Request().Context(), int(ttl))
	if err != nil {
		return err
	}
	return writeJSON(c, 200, tokenJSON(t))
}

// handleTokenList handles "GET /upload-tokens": the active tokens.
func (a *API) handleTokenList(c echo.Context) error {
	lp, err := a.parseList(c, []string{"createdAt", "ttl"}, "createdAt")
	if err != nil {
		return err
	}
	tokens, total, err := a.store.ListUploadTokens(c.Request().Context(), store.TokenFilter{
		Sort: store.TokenSort(lp.sortBy), Desc: lp.desc, Page: lp.page,
	})
	if err != nil {
		return err
	}
	data := make([]uploadToken, 0, len(tokens))
	for _, t := range tokens {
		data = append(data, tokenJSON(t))
	}
	return writeJSON(c, 200, struct {
		Data       []uploadToken `json:"data"`
		Pagination pagination    `json:"pagination"`
	}{data, paginate(c, "/upload-tokens", lp.page, len(data), total)})
}

// handleTokenGet handles "GET /upload-tokens/:uploadToken".
func (a *API) handleTokenGet(c echo.Context) error {
	t, err := a.activeToken(c)
	if err != nil {
		return err
	}
	return writeJSON(c, 200, tokenJSON(t))
}

// handleTokenDelete handles "DELETE /upload-tokens/:uploadToken". Uploads
// the token started stop accepting pieces.
//
// An expired token is "not found" to the API (api-contract.md 11.3), yet
// the uploads it started may still finish under their lease (11.4). So
// that an admin can still revoke such a token, DELETE revokes it before
// answering 404.
func (a *API) handleTokenDelete(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := tokenParam(c)
	if err != nil {
		return err
	}
	if !store.ValidID(store.PrefixUploadToken, id) {
		return a.tokenNotFound()
	}
	t, err := a.store.FindUploadToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && t.Deleted() {
		return a.tokenNotFound()
	}
	if err != nil {
		return err
	}
	if err := a.store.DeleteUploadToken(ctx, t.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return a.tokenNotFound()
		}
		return err
	}
	if t.Expired(a.store.Now()) {
		return a.tokenNotFound()
	}
	return c.NoContent(204)
}

// activeToken loads the token named in the path; expired, deleted and
// unknown tokens are all "not found" (api-contract.md 11.3).
func (a *API) activeToken(c echo.Context) (store.UploadToken, error) {
	id, err := tokenParam(c)
	if err != nil {
		return store.UploadToken{}, err
	}
	if !store.ValidID(store.PrefixUploadToken, id) {
		return store.UploadToken{}, a.tokenNotFound()
	}
	t, err := a.store.FindUploadToken(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (t.Deleted() || t.Expired(a.store.Now())) {
		return store.UploadToken{}, a.tokenNotFound()
	}
	return t, err
}

// tokenParam returns the uploadToken path parameter. Echo lets a route's
// last parameter take the rest of the path, slashes included, so
// /upload-tokens/{token}/anything lands here; that is an unknown route,
// not an unknown token.
func tokenParam(c echo.Context) (string, error) {
	id := c.Param("uploadToken")
	if strings.Contains(id, "/") {
		return "", echo.ErrNotFound
	}
	return id, nil
}

func (a *API) tokenNotFound() error {
	return a.problem("resource-not-found", "uploadToken", "There is no active upload token with this ID.")
}
