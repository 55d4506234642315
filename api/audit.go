package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
)

// maxAuditPage bounds a page of GET /v1/audit; the store answers at most 1000 events per query
// and one more than the page is read to tell whether another page follows.
const maxAuditPage = 500

type auditEventResponse struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Entity string `json:"entity"`
	// Before and After are the entity's state as its domain recorded it, passed through as
	// JSON; Before is absent for a creation.
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	Time      time.Time       `json:"time"`
	RequestID string          `json:"request_id,omitempty"`
}

type auditListResponse struct {
	Events []auditEventResponse `json:"events"`
	Next   string               `json:"next,omitempty"`
}

// handleListAudit handles GET /v1/audit: events oldest first, filtered by entity, actor, action
// and a time range [since, until). Admins and global coordinators read everything; a round's
// coordinator reads the events of that round and its sheets, which they name with entity
// (round/<round>, sheet/<round>/<country> or export/<round>), since the store filters entities
// exactly.
func (s *Server) handleListAudit(c *echo.Context) error {
	f := audit.Filter{
		Entity: c.QueryParam("entity"),
		Actor:  c.QueryParam("actor"),
		Action: c.QueryParam("action"),
		After:  c.QueryParam("after"),
	}
	// Authorization first: a caller who may not read the trail learns nothing from its filters.
	if err := principal(c).Can(auth.ReadAudit, auth.Scope{Round: roundOfEntity(f.Entity)}); err != nil {
		return err
	}
	var fields []FieldError
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := c.QueryParam(q.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fields = append(fields, FieldError{Field: q.name, Reason: "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z"})
			continue
		}
		*q.dst = t
	}
	limit, err := queryLimit(c, 100, maxAuditPage)
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		return invalid("the query has invalid parameters", fields...)
	}
	f.Limit = limit + 1
	events, err := s.audit.ListEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	var resp auditListResponse
	if len(events) > limit {
		events = events[:limit]
		resp.Next = events[limit-1].ID
	}
	resp.Events = make([]auditEventResponse, len(events))
	for i, ev := range events {
		kind := auditKind(ev.Entity)
		before, err := auditState(kind, ev.Before)
		if err != nil {
			return fmt.Errorf("audit event %s: before: %w", ev.ID, err)
		}
		after, err := auditState(kind, ev.After)
		if err != nil {
			return fmt.Errorf("audit event %s: after: %w", ev.ID, err)
		}
		resp.Events[i] = auditEventResponse{
			ID: ev.ID, Kind: kind, Actor: ev.Actor, Action: ev.Action, Entity: ev.Entity,
			Before: before, After: after, Time: ev.Time.UTC(), RequestID: ev.RequestID,
		}
	}
	return c.JSON(http.StatusOK, resp)
}

// roundOfEntity returns the round an audited entity belongs to ("round/<round>",
// "sheet/<round>/<country>", "export/<round>"), or "" for entities outside rounds (users,
// questionnaires), which only admins and global coordinators read.
func roundOfEntity(entity string) string {
	kind, rest, _ := strings.Cut(entity, "/")
	switch kind {
	case "round", "sheet", "export":
		round, _, _ := strings.Cut(rest, "/")
		return round
	}
	return ""
}

// auditKind names the kind of entity an event is about, from the entity's name; openapi.yaml's
// AuditEvent says the shape of before and after for each kind. A questionnaire's versions are
// entities of their own ("questionnaire/<code>/<version>"; codes hold no "/").
func auditKind(entity string) string {
	kind, rest, _ := strings.Cut(entity, "/")
	if kind == "questionnaire" && strings.Contains(rest, "/") {
		return "questionnaire_version"
	}
	return kind
}

// auditState renders a recorded state for the reader. A user's is recorded as the domain's
// User; it is shown as the users API shows a user, in the API's field names.
func auditState(kind string, raw json.RawMessage) (json.RawMessage, error) {
	if kind != "user" || len(raw) == 0 {
		return raw, nil
	}
	var u auth.User
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, err
	}
	return json.Marshal(toUserResponse(u))
}
