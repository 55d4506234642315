package people

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Service imports rosters and copies assignments between rounds through auth.Service.
type Service struct {
	auth *auth.Service
	// workers bounds the writes in flight: the store takes a few hundred writes a second from
	// one writer, more from a few.
	workers int
}

// NewService returns a Service over users.
func NewService(users *auth.Service) *Service { return &Service{auth: users, workers: 4} }

// Invitation is the one-time token of a user the import created; it is shown only here, for
// whoever passes it on (or mails it).
type Invitation struct {
	Email  string
	UserID string
	Token  string
}

// Result tells what an import did, or, for a dry run, would do.
type Result struct {
	DryRun bool
	Rows   int
	// Users counts the distinct people in the roster: Created are new, Updated existed and gain
	// assignments, Unchanged existed with every assignment already.
	Users, Created, Updated, Unchanged int
	// Granted counts the assignments added, to new and existing users.
	Granted     int
	Invitations []Invitation
}

// person is one email of the roster with everything its rows ask for.
type person struct {
	email       string
	name        string
	firstRow    int
	assignments []auth.Assignment
	rowOf       map[auth.Assignment]int
	existing    *auth.User
	missing     []auth.Assignment
}

// Import validates rows as a whole and, unless dryRun, writes them: new users are created with
// their assignments in one version (invited, with a token), existing users are granted what
// they lack. Any problem refuses the whole roster with an *Error listing every one, and nothing
// is written. Running the same roster again writes nothing.
//
// Concurrency rests on the store's unique keys: a user is created by claiming their email, so
// two imports racing on one new person have one winner, and the loser grants on the winner's
// user; a grant is a new user version, so racing grants are retried on the fresh version.
func (s *Service) Import(ctx context.Context, p auth.Principal, rows []Row, dryRun bool) (*Result, error) {
	if err := p.Can(auth.ManageUsers, auth.Scope{}); err != nil {
		return nil, err
	}
	if err := p.Can(auth.ManageAssignments, auth.Scope{}); err != nil {
		return nil, err
	}
	people, problems, err := s.plan(ctx, p, rows)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, &Error{Problems: problems}
	}
	res := &Result{DryRun: dryRun, Rows: len(rows), Users: len(people)}
	for _, ps := range people {
		switch {
		case ps.existing == nil:
			res.Created++
			res.Granted += len(ps.assignments)
		case len(ps.missing) > 0:
			res.Updated++
			res.Granted += len(ps.missing)
		default:
			res.Unchanged++
		}
	}
	if dryRun {
		return res, nil
	}
	var mu sync.Mutex
	err = s.parallel(ctx, people, func(ps *person) error {
		inv, err := s.write(ctx, p, ps)
		if err != nil {
			return fmt.Errorf("row %d (%s): %w", ps.firstRow, ps.email, err)
		}
		if inv != nil {
			mu.Lock()
			res.Invitations = append(res.Invitations, *inv)
			mu.Unlock()
		}
		return nil
	})
	slices.SortFunc(res.Invitations, func(a, b Invitation) int { return strings.Compare(a.Email, b.Email) })
	return res, err
}

// write applies one person's plan.
func (s *Service) write(ctx context.Context, p auth.Principal, ps *person) (*Invitation, error) {
	if ps.existing == nil {
		u, token, err := s.auth.CreateUser(ctx, p, auth.NewUser{Email: ps.email, DisplayName: ps.name, Assignments: ps.assignments})
		if err == nil {
			return &Invitation{Email: u.Email, UserID: u.ID, Token: token}, nil
		}
		if !errors.Is(err, auth.ErrConflict) {
			return nil, err
		}
		// Another import created this person meanwhile: grant on their user instead.
		u, err = s.claimedUser(ctx, p, ps.email)
		if err != nil {
			return nil, err
		}
		ps.existing, ps.missing = &u, ps.assignments
	}
	for _, a := range ps.missing {
		if _, err := s.auth.Grant(ctx, p, ps.existing.ID, a, 0); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// claimedUser finds the user of an email another writer just claimed. The claim is inserted
// before the user's first version, so for a moment the email is taken and its user not yet
// readable: wait for it a little.
func (s *Service) claimedUser(ctx context.Context, p auth.Principal, email string) (auth.User, error) {
	for attempt := 1; ; attempt++ {
		u, err := s.auth.UserByEmail(ctx, p, email)
		if !errors.Is(err, auth.ErrNotFound) || attempt == 20 {
			return u, err
		}
		select {
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		case <-ctx.Done():
			return u, ctx.Err()
		}
	}
}

// plan validates rows, looks up who exists, and works out what each person lacks.
func (s *Service) plan(ctx context.Context, p auth.Principal, rows []Row) ([]*person, []Problem, error) {
	var problems []Problem
	add := func(row int, col, msg string) {
		problems = append(problems, Problem{Row: row, Column: col, Message: msg})
	}
	if len(rows) == 0 {
		add(0, "file", "the roster has no rows")
		return nil, problems, nil
	}
	targets := map[auth.Assignment]targetResult{}
	byEmail := map[string]*person{}
	var people []*person
	for _, r := range rows {
		for _, fe := range auth.ValidateNewUser(auth.NewUser{Email: r.Email, DisplayName: r.Name}) {
			col := fe.Field
			if col == "display_name" {
				col = "name"
			}
			add(r.Line, col, fe.Reason)
		}
		key := auth.NormalizeEmail(r.Email)
		ps := byEmail[key]
		if ps == nil && key != "" {
			ps = &person{email: strings.TrimSpace(r.Email), name: r.Name, firstRow: r.Line, rowOf: map[auth.Assignment]int{}}
			byEmail[key] = ps
			people = append(people, ps)
		} else if ps != nil && r.Name != "" && ps.name != "" && r.Name != ps.name {
			add(r.Line, "name", fmt.Sprintf("differs from row %d (%q) for the same email", ps.firstRow, ps.name))
		}
		as, ok := s.rowAssignments(ctx, r, targets, add)
		if !ok || ps == nil {
			continue
		}
		for _, a := range as {
			if _, dup := ps.rowOf[a]; dup {
				continue // the same assignment twice is harmless
			}
			if other := counterpart(a); other != nil {
				if at, clash := ps.rowOf[*other]; clash {
					add(r.Line, "role", fmt.Sprintf("%s is already %s of %s/%s in row %d: nobody reviews their own sheet", ps.email, other.Role, a.Round, a.Country, at))
					continue
				}
			}
			ps.rowOf[a] = r.Line
			ps.assignments = append(ps.assignments, a)
		}
	}
	if err := s.lookUp(ctx, p, people); err != nil {
		return nil, nil, err
	}
	for _, ps := range people {
		if ps.existing == nil {
			continue
		}
		for _, a := range ps.assignments {
			if slices.Contains(ps.existing.Assignments, a) {
				continue
			}
			if other := counterpart(a); other != nil && slices.Contains(ps.existing.Assignments, *other) {
				add(ps.rowOf[a], "role", fmt.Sprintf("%s is already %s of %s/%s: nobody reviews their own sheet", ps.email, other.Role, a.Round, a.Country))
				continue
			}
			ps.missing = append(ps.missing, a)
		}
	}
	return people, problems, nil
}

type targetResult struct {
	a   auth.Assignment
	err error
}

// rowAssignments reads the role, round and countries of a row as assignments, reporting every
// problem; ok is false when the row has any.
func (s *Service) rowAssignments(ctx context.Context, r Row, targets map[auth.Assignment]targetResult, add func(int, string, string)) ([]auth.Assignment, bool) {
	role := strings.ToLower(r.Role)
	countries := strings.FieldsFunc(r.Countries, func(c rune) bool { return c == ',' || c == ';' || c == '|' || c == ' ' })
	switch role {
	case "", "none":
		ok := true
		if r.Round != "" {
			add(r.Line, "round", "must be empty without a role")
			ok = false
		}
		if len(countries) > 0 {
			add(r.Line, "countries", "must be empty without a role")
			ok = false
		}
		return nil, ok
	case "coordinator", "expert", "reviewer":
	default:
		add(r.Line, "role", "must be coordinator, expert, reviewer or empty (admins are created one by one)")
		return nil, false
	}
	if r.Round == "" {
		add(r.Line, "round", "is required for a "+role)
		return nil, false
	}
	if role == "coordinator" {
		countries = []string{""}
		if r.Countries != "" {
			add(r.Line, "countries", "must be empty for a coordinator, who coordinates the whole round")
			return nil, false
		}
	} else if len(countries) == 0 {
		add(r.Line, "countries", "must list at least one country of round "+r.Round+" for an "+role)
		return nil, false
	}
	ok := true
	var out []auth.Assignment
	for _, c := range countries {
		a := auth.Assignment{Role: auth.Role(role), Round: r.Round, Country: c}
		if fe := auth.ValidateAssignment(a); len(fe) > 0 {
			for _, f := range fe {
				col := f.Field
				if col == "country" {
					col = "countries"
				}
				add(r.Line, col, fmt.Sprintf("%s: %s", orQuote(c, r.Round, col), f.Reason))
			}
			ok = false
			continue
		}
		tr, seen := targets[a]
		if !seen {
			tr.a, tr.err = s.auth.CheckTarget(ctx, a)
			targets[a] = tr
		}
		var te *auth.TargetError
		switch {
		case errors.As(tr.err, &te):
			col := te.Field
			if col == "country" {
				col = "countries"
			}
			add(r.Line, col, te.Reason)
			ok = false
		case tr.err != nil:
			add(r.Line, "round", "cannot be checked: "+tr.err.Error())
			ok = false
		default:
			out = append(out, tr.a)
		}
	}
	return out, ok
}

func orQuote(country, round, col string) string {
	if col == "round" {
		return fmt.Sprintf("%q", round)
	}
	return fmt.Sprintf("%q", country)
}

// counterpart is the assignment that a must not be held with: expert and reviewer of the same
// country of the same round.
func counterpart(a auth.Assignment) *auth.Assignment {
	other := map[auth.Role]auth.Role{auth.RoleExpert: auth.RoleReviewer, auth.RoleReviewer: auth.RoleExpert}[a.Role]
	if other == "" {
		return nil
	}
	return &auth.Assignment{Role: other, Round: a.Round, Country: a.Country}
}

// lookUp finds the existing user of every person, in parallel: two point reads each.
func (s *Service) lookUp(ctx context.Context, p auth.Principal, people []*person) error {
	return s.parallel(ctx, people, func(ps *person) error {
		u, err := s.auth.UserByEmail(ctx, p, ps.email)
		if errors.Is(err, auth.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ps.existing = &u
		return nil
	})
}

// parallel runs fn on every person with s.workers at a time, stopping at the first error.
func (s *Service) parallel(ctx context.Context, people []*person, fn func(*person) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan *person)
	var wg sync.WaitGroup
	for range max(s.workers, 1) {
		wg.Go(func() {
			for ps := range work {
				if err := fn(ps); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, ps := range people {
		if ctx.Err() != nil {
			break
		}
		work <- ps
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

func sortProblems(ps []Problem) {
	order := map[string]int{}
	for i, c := range Columns {
		order[c] = i + 1
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Row != ps[j].Row {
			return ps[i].Row < ps[j].Row
		}
		return order[ps[i].Column] < order[ps[j].Column]
	})
}
