package people

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/expertsurvey/expertsurvey/auth"
)

// CopyResult tells what a copy of assignments did, or would do for a dry run.
type CopyResult struct {
	DryRun bool
	From   string
	To     string
	// Users counts the users holding an assignment in From; Granted the assignments added in
	// To, Unchanged those already there.
	Users, Granted, Unchanged int
	Skipped                   []Skip
}

// Skip is an assignment of the previous round that was not copied, and why.
type Skip struct {
	UserID  string
	Email   string
	Role    auth.Role
	Country string
	Reason  string
}

// CopyAssignments grants every coordinator, expert and reviewer of round from the same role in
// round to, for the countries to has; the others are reported as skipped. Global coordinators
// (round *) already cover every round. Copying again grants nothing new.
func (s *Service) CopyAssignments(ctx context.Context, p auth.Principal, from, to string, dryRun bool) (*CopyResult, error) {
	if err := p.Can(auth.ManageAssignments, auth.Scope{}); err != nil {
		return nil, err
	}
	var fe auth.FieldErrors
	if from == to && from != "" {
		fe = append(fe, auth.FieldError{Field: "from", Reason: "must be another round than the one copied into"})
	}
	for field, id := range map[string]string{"from": from, "round": to} {
		if len(auth.ValidateAssignment(auth.Assignment{Role: auth.RoleCoordinator, Round: id})) > 0 || id == auth.AllRounds {
			fe = append(fe, auth.FieldError{Field: field, Reason: "must be a round id"})
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	for field, id := range map[string]string{"from": from, "round": to} {
		if _, err := s.auth.CheckTarget(ctx, auth.Assignment{Role: auth.RoleCoordinator, Round: id}); err != nil {
			var te *auth.TargetError
			if errors.As(err, &te) {
				te.Field = field
			}
			return nil, err
		}
	}
	res := &CopyResult{DryRun: dryRun, From: from, To: to}
	type grant struct {
		user auth.User
		as   []auth.Assignment
	}
	var grants []grant
	after := ""
	for {
		page, err := s.auth.ListUsers(ctx, p, after, auth.MaxPageSize)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Users {
			g := grant{user: u}
			held := false
			for _, a := range u.Assignments {
				if a.Round != from {
					continue
				}
				held = true
				next := a
				next.Round = to
				checked, err := s.auth.CheckTarget(ctx, next)
				var te *auth.TargetError
				switch {
				case errors.As(err, &te):
					res.Skipped = append(res.Skipped, Skip{UserID: u.ID, Email: u.Email, Role: a.Role, Country: a.Country, Reason: te.Reason})
					continue
				case err != nil:
					return nil, err
				}
				if slices.Contains(u.Assignments, checked) {
					res.Unchanged++
					continue
				}
				if other := counterpart(checked); other != nil && slices.Contains(u.Assignments, *other) {
					res.Skipped = append(res.Skipped, Skip{UserID: u.ID, Email: u.Email, Role: a.Role, Country: a.Country,
						Reason: fmt.Sprintf("already %s of %s/%s", other.Role, to, a.Country)})
					continue
				}
				g.as = append(g.as, checked)
			}
			if held {
				res.Users++
			}
			if len(g.as) > 0 {
				grants = append(grants, g)
				res.Granted += len(g.as)
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if dryRun {
		return res, nil
	}
	people := make([]*person, len(grants))
	for i, g := range grants {
		u := g.user
		people[i] = &person{email: u.Email, existing: &u, missing: g.as}
	}
	return res, s.parallel(ctx, people, func(ps *person) error {
		_, err := s.write(ctx, p, ps)
		return err
	})
}
