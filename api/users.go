package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Users are versioned: every change is one new version and one audit event. The version is the
// user's ETag, strong and quoted ("7"); every change of an existing user requires it in If-Match
// (428 without it, 412 when it is no longer current), so that two admins editing one user never
// silently undo each other. If-Match also accepts the weak form W/"7", because proxies that
// compress responses weaken strong ETags on the way to the client.

// userResponse is a user as the API shows it: never the password hash, which auth.User does not
// even carry.
type userResponse struct {
	ID          string               `json:"id"`
	Email       string               `json:"email"`
	DisplayName string               `json:"display_name"`
	Role        string               `json:"role"`
	Disabled    bool                 `json:"disabled"`
	Invited     bool                 `json:"invited"`
	Assignments []assignmentResponse `json:"assignments"`
	CreatedAt   time.Time            `json:"created_at"`
	LastLoginAt *time.Time           `json:"last_login_at,omitempty"`
	Version     int64                `json:"version"`
}

type assignmentResponse struct {
	Role    string `json:"role"`
	Round   string `json:"round"`
	Country string `json:"country,omitempty"`
}

// roleNone is how the API spells "no global role": an explicit value reads better in a user
// listing than an absent field.
const roleNone = "none"

func toUserResponse(u auth.User) userResponse {
	r := userResponse{
		ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Role: roleNone,
		Disabled: u.Disabled, Invited: u.Invited,
		Assignments: toAssignmentResponses(u.Assignments),
		CreatedAt:   u.CreatedAt.UTC(), Version: u.Version,
	}
	if u.GlobalRole != auth.RoleNone {
		r.Role = string(u.GlobalRole)
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt.UTC()
		r.LastLoginAt = &t
	}
	return r
}

func toAssignmentResponses(as []auth.Assignment) []assignmentResponse {
	out := make([]assignmentResponse, len(as)) // [] rather than null when there are none
	for i, a := range as {
		out[i] = assignmentResponse{Role: string(a.Role), Round: a.Round, Country: a.Country}
	}
	return out
}

type userListResponse struct {
	Users []userResponse `json:"users"`
	// Next is the cursor of the next page, absent after the last.
	Next string `json:"next,omitempty"`
}

// handleListUsers handles GET /v1/users.
func (s *Server) handleListUsers(c *echo.Context) error {
	limit, err := queryLimit(c, 50, auth.MaxPageSize)
	if err != nil {
		return err
	}
	page, err := s.auth.ListUsers(c.Request().Context(), principal(c), c.QueryParam("after"), limit)
	if err != nil {
		return err
	}
	resp := userListResponse{Users: make([]userResponse, len(page.Users)), Next: page.Next}
	for i, u := range page.Users {
		resp.Users[i] = toUserResponse(u)
	}
	return c.JSON(http.StatusOK, resp)
}

type createUserRequest struct {
	Email       string `json:"email" validate:"required,max=254"`
	DisplayName string `json:"display_name" validate:"required,max=200"`
	Role        string `json:"role,omitempty" validate:"omitempty,oneof=admin none"`
	// Password, when empty, makes the creation an invitation.
	Password string `json:"password,omitempty" validate:"max=1024"`
}

type createUserResponse struct {
	User userResponse `json:"user"`
	// InvitationToken is returned once, here, and stored only as a hash: the admin passes it on
	// to the invited user, who sets a password with POST /v1/auth/accept-invitation.
	InvitationToken string `json:"invitation_token,omitempty"`
}

// handleCreateUser handles POST /v1/users.
func (s *Server) handleCreateUser(c *echo.Context) error {
	var req createUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	role := auth.RoleNone
	if req.Role == string(auth.RoleAdmin) {
		role = auth.RoleAdmin
	}
	u, token, err := s.auth.CreateUser(c.Request().Context(), principal(c), auth.NewUser{
		Email: req.Email, DisplayName: req.DisplayName, GlobalRole: role, Password: req.Password,
	})
	if err != nil {
		return err
	}
	setUserETag(c, u.Version)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/users/"+u.ID)
	noStore(c) // the body may hold an invitation token
	return c.JSON(http.StatusCreated, createUserResponse{User: toUserResponse(u), InvitationToken: token})
}

// handleGetUser handles GET /v1/users/:id: admins read anyone, users themselves.
func (s *Server) handleGetUser(c *echo.Context) error {
	u, err := s.auth.GetUser(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	setUserETag(c, u.Version)
	return c.JSON(http.StatusOK, toUserResponse(u))
}

// handleMe handles GET /v1/me.
func (s *Server) handleMe(c *echo.Context) error {
	u, err := s.auth.Me(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	setUserETag(c, u.Version)
	return c.JSON(http.StatusOK, toUserResponse(u))
}

// handleDisableUser handles POST /v1/users/:id/disable.
func (s *Server) handleDisableUser(c *echo.Context) error {
	version, err := userIfMatch(c, auth.ManageUsers)
	if err != nil {
		return err
	}
	id := c.Param("id")
	u, err := s.auth.DisableUser(c.Request().Context(), principal(c), id, version)
	return s.userChanged(c, id, u, err)
}

// handleEnableUser handles POST /v1/users/:id/enable.
func (s *Server) handleEnableUser(c *echo.Context) error {
	version, err := userIfMatch(c, auth.ManageUsers)
	if err != nil {
		return err
	}
	id := c.Param("id")
	u, err := s.auth.EnableUser(c.Request().Context(), principal(c), id, version)
	return s.userChanged(c, id, u, err)
}

type passwordResetRequest struct {
	// Password, when given, is set at once; without it a one-time reset token is issued.
	Password string `json:"password,omitempty" validate:"max=1024"`
}

type passwordResetResponse struct {
	User userResponse `json:"user"`
	// ResetToken is returned once, here; the user sets a password with it through POST
	// /v1/auth/accept-invitation.
	ResetToken string `json:"reset_token,omitempty"`
}

// handleResetPassword handles POST /v1/users/:id/password-reset. The body is optional: no body
// (or no password) asks for a reset token.
func (s *Server) handleResetPassword(c *echo.Context) error {
	var req passwordResetRequest
	if hasBody(c.Request()) {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	version, err := userIfMatch(c, auth.ManageUsers)
	if err != nil {
		return err
	}
	id := c.Param("id")
	u, token, err := s.auth.ResetPassword(c.Request().Context(), principal(c), id, req.Password, version)
	if err != nil {
		return s.staleUser(c, id, err)
	}
	setUserETag(c, u.Version)
	noStore(c)
	return c.JSON(http.StatusOK, passwordResetResponse{User: toUserResponse(u), ResetToken: token})
}

type assignmentListResponse struct {
	Assignments []assignmentResponse `json:"assignments"`
}

// handleListAssignments handles GET /v1/users/:id/assignments: admins read anyone's, users
// their own.
func (s *Server) handleListAssignments(c *echo.Context) error {
	as, err := s.auth.ListAssignments(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assignmentListResponse{Assignments: toAssignmentResponses(as)})
}

type assignmentRequest struct {
	Role  string `json:"role" validate:"required,oneof=coordinator expert reviewer"`
	Round string `json:"round" validate:"required,max=64"`
	// Country is required for experts and reviewers and must be absent for coordinators; the
	// domain checks that combination and names the field.
	Country string `json:"country,omitempty" validate:"max=64"`
}

func (r assignmentRequest) toDomain() auth.Assignment {
	return auth.Assignment{Role: auth.Role(r.Role), Round: r.Round, Country: r.Country}
}

// handleGrantAssignment handles POST /v1/users/:id/assignments.
func (s *Server) handleGrantAssignment(c *echo.Context) error {
	var req assignmentRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	version, err := userIfMatch(c, auth.ManageAssignments)
	if err != nil {
		return err
	}
	id := c.Param("id")
	u, err := s.auth.Grant(c.Request().Context(), principal(c), id, req.toDomain(), version)
	return s.userChanged(c, id, u, err)
}

// handleRevokeAssignment handles DELETE /v1/users/:id/assignments?role=&round=&country=. The
// assignment is named in the query, not a body: OpenAPI 3.0 gives DELETE bodies no defined
// meaning and some clients and proxies drop them.
func (s *Server) handleRevokeAssignment(c *echo.Context) error {
	req := assignmentRequest{Role: c.QueryParam("role"), Round: c.QueryParam("round"), Country: c.QueryParam("country")}
	if err := validateStruct(&req); err != nil {
		return err
	}
	version, err := userIfMatch(c, auth.ManageAssignments)
	if err != nil {
		return err
	}
	id := c.Param("id")
	u, err := s.auth.Revoke(c.Request().Context(), principal(c), id, req.toDomain(), version)
	return s.userChanged(c, id, u, err)
}

// userChanged answers a change of user id: the new version with its ETag, or the error.
func (s *Server) userChanged(c *echo.Context, id string, u auth.User, err error) error {
	if err != nil {
		return s.staleUser(c, id, err)
	}
	setUserETag(c, u.Version)
	return c.JSON(http.StatusOK, toUserResponse(u))
}

// staleUser adds the user as it is now to a 412, so that the client can redo its change on the
// current version without another request. Other errors pass through to the error table.
func (s *Server) staleUser(c *echo.Context, id string, err error) error {
	if !errors.Is(err, auth.ErrStale) {
		return err
	}
	cur, gerr := s.auth.GetUser(c.Request().Context(), principal(c), id)
	if gerr != nil {
		return err
	}
	pe := newProblem(kindStale, err.Error())
	pe.cause = err
	pe.p.Current = toUserResponse(cur)
	return pe
}

// setUserETag sets the ETag of a user at version.
func setUserETag(c *echo.Context, version int64) {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.FormatInt(version, 10)))
}

// userIfMatch returns the version named by If-Match. When the header is missing or unreadable
// it first asks the policy whether the caller may do action at all, so that someone who may not
// gets 403 rather than advice on how to build the request.
func userIfMatch(c *echo.Context, action auth.Action) (int64, error) {
	header := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	version, perr := parseVersionETag(header)
	if perr == nil {
		return version, nil
	}
	if err := principal(c).Can(action, auth.Scope{}); err != nil {
		return 0, err
	}
	return 0, perr
}

func parseVersionETag(header string) (int64, error) {
	if header == "" {
		return 0, newProblem(kindPrecondReq, "send If-Match with the user's ETag, as GET /v1/users/{id} returns it",
			FieldError{Field: "If-Match", Reason: "is required"})
	}
	version, ok := parseETag(header)
	if !ok {
		// "*" lands here too: it would apply the change to whatever version is current, the lost
		// update that If-Match exists to prevent.
		return 0, invalid("If-Match must be one ETag such as \"3\"",
			FieldError{Field: "If-Match", Reason: "must be the ETag of the version read"})
	}
	if version < 1 {
		// Version 0 would mean "no precondition" to the service; no user ever has it.
		return 0, newProblem(kindStale, fmt.Sprintf("no user has version %d", version))
	}
	return version, nil
}

// queryLimit reads ?limit=, between 1 and maxLimit, def when absent.
func queryLimit(c *echo.Context, def, maxLimit int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalid("limit is out of range",
			FieldError{Field: "limit", Reason: fmt.Sprintf("must be an integer from 1 to %d", maxLimit)})
	}
	return n, nil
}

// hasBody tells an absent body (optional on some endpoints) from an empty one sent as JSON.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 || r.Header.Get(echo.HeaderContentType) != ""
}

// noStore keeps responses that carry tokens out of caches (RFC 6749, section 5.1).
func noStore(c *echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}
