package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/people"
)

// RosterBodyLimit caps a roster upload: 20,000 rows of a few hundred bytes fit with room.
const RosterBodyLimit = 16 << 20

// RowProblem is one problem of an uploaded file, at its row (the header is row 1; 0 is the file
// as a whole) and column.
type RowProblem struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// peopleProblem renders a refused roster.
func peopleProblem(err error) (Problem, bool) {
	var pe *people.Error
	if !errors.As(err, &pe) {
		return Problem{}, false
	}
	p := problemFor(kindRoster, fmt.Sprintf("the roster has %d problem(s); problems lists every one; nothing was written", len(pe.Problems)))
	p.Problems = make([]RowProblem, len(pe.Problems))
	for i, rp := range pe.Problems {
		p.Problems[i] = RowProblem{Row: rp.Row, Column: rp.Column, Message: rp.Message}
	}
	return p, true
}

type invitationResponse struct {
	Email           string `json:"email"`
	UserID          string `json:"user_id"`
	InvitationToken string `json:"invitation_token"`
}

type rosterImportResponse struct {
	DryRun      bool                 `json:"dry_run"`
	Rows        int                  `json:"rows"`
	Users       int                  `json:"users"`
	Created     int                  `json:"created"`
	Updated     int                  `json:"updated"`
	Unchanged   int                  `json:"unchanged"`
	Granted     int                  `json:"granted"`
	Invitations []invitationResponse `json:"invitations"`
}

// handleImportUsers handles POST /v1/users/import: a roster as the body, CSV read as a stream
// or an XLSX workbook, under RosterBodyLimit.
func (s *Server) handleImportUsers(c *echo.Context) error {
	if err := principal(c).Can(auth.ManageUsers, auth.Scope{}); err != nil {
		return err
	}
	dryRun, err := boolQuery(c, "dry_run")
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" {
		mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
		format = importMediaTypes[mt]
	}
	if format != "csv" && format != "xlsx" {
		return newProblem(kindMediaType, "send the roster as text/csv or as an XLSX workbook, or name the format with ?format=csv|xlsx",
			FieldError{Field: "format", Reason: "must be csv or xlsx"})
	}
	var body io.Reader = c.Request().Body
	if format == "xlsx" {
		// A workbook is a zip archive, read whole; reading it here lets an oversized upload be
		// answered 413 rather than as an unreadable workbook.
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	rows, err := people.Parse(body, format)
	if err != nil {
		return err
	}
	res, err := s.people.Import(c.Request().Context(), principal(c), rows, dryRun)
	if err != nil {
		return err
	}
	resp := rosterImportResponse{DryRun: res.DryRun, Rows: res.Rows, Users: res.Users, Created: res.Created,
		Updated: res.Updated, Unchanged: res.Unchanged, Granted: res.Granted, Invitations: []invitationResponse{}}
	for _, inv := range res.Invitations {
		resp.Invitations = append(resp.Invitations, invitationResponse{Email: inv.Email, UserID: inv.UserID, InvitationToken: inv.Token})
	}
	noStore(c) // the body holds invitation tokens
	return c.JSON(http.StatusOK, resp)
}

type copyAssignmentsRequest struct {
	From string `json:"from" validate:"required,max=64"`
}

type skipResponse struct {
	UserID  string `json:"user_id"`
	Email   string `json:"email"`
	Role    string `json:"role"`
	Country string `json:"country,omitempty"`
	Reason  string `json:"reason"`
}

type copyAssignmentsResponse struct {
	DryRun    bool           `json:"dry_run"`
	From      string         `json:"from"`
	To        string         `json:"to"`
	Users     int            `json:"users"`
	Granted   int            `json:"granted"`
	Unchanged int            `json:"unchanged"`
	Skipped   []skipResponse `json:"skipped"`
}

// handleCopyAssignments handles POST /v1/rounds/:round/assignments/copy.
func (s *Server) handleCopyAssignments(c *echo.Context) error {
	var req copyAssignmentsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	dryRun, err := boolQuery(c, "dry_run")
	if err != nil {
		return err
	}
	res, err := s.people.CopyAssignments(c.Request().Context(), principal(c), req.From, c.Param("round"), dryRun)
	if err != nil {
		return err
	}
	resp := copyAssignmentsResponse{DryRun: res.DryRun, From: res.From, To: res.To, Users: res.Users,
		Granted: res.Granted, Unchanged: res.Unchanged, Skipped: []skipResponse{}}
	for _, sk := range res.Skipped {
		resp.Skipped = append(resp.Skipped, skipResponse{UserID: sk.UserID, Email: sk.Email, Role: string(sk.Role), Country: sk.Country, Reason: sk.Reason})
	}
	return c.JSON(http.StatusOK, resp)
}

// boolQuery reads an optional true/false query parameter.
func boolQuery(c *echo.Context, name string) (bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid(name+" must be true or false", FieldError{Field: name, Reason: "must be true or false"})
	}
	return b, nil
}
