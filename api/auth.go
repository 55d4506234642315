package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/auth"
)

// The sign-in endpoints are public: the credential is in the body (a password, a refresh token,
// an invitation or reset token), never a bearer token.

type loginRequest struct {
	// Email is not checked for shape: a malformed email is just a failed sign-in, answered like
	// any other, so that the answers reveal nothing about which accounts exist.
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=256"`
}

// sessionResponse follows OAuth 2.0's token response (RFC 6749, section 5.1) in its names, with
// absolute expiry times instead of expires_in, and the signed-in user.
type sessionResponse struct {
	AccessToken      string       `json:"access_token"`
	TokenType        string       `json:"token_type"`
	ExpiresAt        time.Time    `json:"expires_at"`
	RefreshToken     string       `json:"refresh_token"`
	RefreshExpiresAt time.Time    `json:"refresh_expires_at"`
	User             userResponse `json:"user"`
}

func writeSession(c *echo.Context, sess auth.Session) error {
	noStore(c)
	return c.JSON(http.StatusOK, sessionResponse{
		AccessToken: sess.AccessToken, TokenType: "Bearer", ExpiresAt: sess.AccessExpiresAt.UTC(),
		RefreshToken: sess.RefreshToken, RefreshExpiresAt: sess.RefreshExpiresAt.UTC(),
		User: toUserResponse(sess.User),
	})
}

// handleLogin handles POST /v1/auth/login. Wrong credentials answer 401 with the same body
// whether or not the email exists; repeated failures lock the account and the client address
// (429 with Retry-After, through auth.LockedError).
func (s *Server) handleLogin(c *echo.Context) error {
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	withOrigin(c)
	// RealIP is the connection's address unless the server is configured with an IP extractor
	// for a trusted proxy; a forged X-Forwarded-For must not dodge the per-address lockout.
	sess, err := s.auth.Login(c.Request().Context(), req.Email, req.Password, c.RealIP())
	if err != nil {
		return err
	}
	return writeSession(c, sess)
}

// handleRefresh handles POST /v1/auth/refresh: the refresh token is exchanged for a new pair;
// presenting one already exchanged ends the whole session (401).
func (s *Server) handleRefresh(c *echo.Context) error {
	var req refreshRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	withOrigin(c)
	sess, err := s.auth.Refresh(c.Request().Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	return writeSession(c, sess)
}

// handleLogout handles POST /v1/auth/logout. It is public because the refresh token is the
// credential, and it answers 204 for an unknown token too, so that logging out twice is
// harmless and the answer tells nothing about the token.
func (s *Server) handleLogout(c *echo.Context) error {
	var req refreshRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	withOrigin(c)
	if err := s.auth.Logout(c.Request().Context(), req.RefreshToken); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type acceptInvitationRequest struct {
	Token    string `json:"token" validate:"required,max=256"`
	Password string `json:"password" validate:"required,max=1024"`
}

// handleAcceptInvitation handles POST /v1/auth/accept-invitation: an invitation or reset token
// and the new password. The user then signs in as usual.
func (s *Server) handleAcceptInvitation(c *echo.Context) error {
	var req acceptInvitationRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	withOrigin(c)
	u, err := s.auth.AcceptInvitation(c.Request().Context(), req.Token, req.Password)
	if err != nil {
		return err
	}
	setUserETag(c, u.Version)
	return c.JSON(http.StatusOK, toUserResponse(u))
}
