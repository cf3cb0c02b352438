package api

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
)

// requireCredentials lets a request through if it carries a valid API key
// (Basic, with the key as user name and an empty password, as api.video
// documents) or a live access token (Bearer).
func (a *API) requireCredentials(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization))
		if h == "" {
			return a.problem(codeMissingAuth, "", `Send "Authorization: Basic base64(<API key>:)" or "Authorization: Bearer <access token>".`)
		}
		scheme, cred, _ := strings.Cut(h, " ")
		cred = strings.TrimSpace(cred)
		ctx := c.Request().Context()
		switch strings.ToLower(scheme) {
		case "basic":
			raw, err := base64.StdEncoding.DecodeString(cred)
			if err != nil || len(raw) == 0 {
				return a.problem(codeInvalidAuthHeader, "", "The Basic credentials are not valid base64 of \"<API key>:\".")
			}
			key, _, _ := strings.Cut(string(raw), ":")
			if err := a.store.AuthenticateAPIKey(ctx, a.creds, key); err != nil {
				return a.authErr(err, codeInvalidAPIKey, "The API key is unknown or was revoked.")
			}
		case "bearer":
			if err := a.store.AuthenticateAccessToken(ctx, a.creds, cred); err != nil {
				return a.authErr(err, codeInvalidAccess, "Get a new access token from POST /auth/api-key.")
			}
		default:
			return a.problem(codeInvalidAuthHeader, "", "Use the Basic or Bearer scheme.")
		}
		return next(c)
	}
}

func (a *API) authErr(err error, code, detail string) error {
	if errors.Is(err, store.ErrNotFound) {
		return a.problem(code, "", detail)
	}
	return err
}

// accessToken is api.video's access-token object.
type accessToken struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func tokenPairJSON(p store.TokenPair) accessToken {
	return accessToken{
		TokenType:    "Bearer",
		ExpiresIn:    int(p.ExpiresIn.Seconds()),
		AccessToken:  p.Access,
		RefreshToken: p.Refresh,
	}
}

// handleAuthAPIKey handles "POST /auth/api-key": an API key for a token pair.
func (a *API) handleAuthAPIKey(c echo.Context) error {
	var body struct {
		APIKey *string `json:"apiKey"`
	}
	if err := a.decodeJSON(c, &body); err != nil {
		return err
	}
	if body.APIKey == nil || *body.APIKey == "" {
		return a.problem(codeAttributeRequired, "apiKey", `Send {"apiKey": "<your API key>"}.`)
	}
	p, err := a.store.IssueTokens(c.Request().Context(), a.creds, *body.APIKey)
	if err != nil {
		return a.authErr(err, codeBadCredentials, "The API key is unknown or was revoked.")
	}
	return writeJSON(c, 200, tokenPairJSON(p))
}

// handleAuthRefresh handles "POST /auth/refresh": a refresh token, once,
// for a new token pair.
func (a *API) handleAuthRefresh(c echo.Context) error {
	var body struct {
		RefreshToken *string `json:"refreshToken"`
	}
	if err := a.decodeJSON(c, &body); err != nil {
		return err
	}
	if body.RefreshToken == nil || *body.RefreshToken == "" {
		return a.problem(codeAttributeRequired, "refreshToken", `Send {"refreshToken": "<refresh token>"}.`)
	}
	p, err := a.store.RefreshTokens(c.Request().Context(), a.creds, *body.RefreshToken)
	if err != nil {
		return a.authErr(err, codeBadCredentials, "The refresh token is unknown, expired or already used. Get a new pair from POST /auth/api-key.")
	}
	return writeJSON(c, 200, tokenPairJSON(p))
}
