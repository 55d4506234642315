// Package round runs data collection: rounds over a published questionnaire version, one sheet
// per country, answers with their sources and full history, carry-forward from the previous
// round, submission, and bulk import of past data.
package round

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Status is where a round stands.
type Status string

const (
	StatusDraft     Status = "draft"
	StatusOpen      Status = "open"
	StatusClosed    Status = "closed"
	StatusPublished Status = "published"
)

// transitions lists the status changes coordinators may make. Reopening a closed round lets
// late corrections in; a published round is final (errata reopen sheets, not the round).
var transitions = map[Status][]Status{
	StatusDraft:  {StatusOpen},
	StatusOpen:   {StatusClosed},
	StatusClosed: {StatusOpen, StatusPublished},
}

// CanMove tells whether a round may go from s to to.
func (s Status) CanMove(to Status) bool { return slices.Contains(transitions[s], to) }

// Round is one edition of data collection.
type Round struct {
	ID                 string
	Name               string
	Questionnaire      string
	QuestionnaireVer   string
	ReferenceDate      string // YYYY or YYYY-MM-DD: the date the answers describe
	Countries          []string
	AnswersDue         string // YYYY-MM-DD
	ReviewsDue         string // YYYY-MM-DD
	Previous           string // the round answers carry forward from
	BlindReview        bool
	ReviewersPerAnswer int
	// PublicAnswers makes the answers and sources of a published round readable by the public,
	// not only its scores.
	PublicAnswers bool
	// Excluded lists the countries left out of publication, each with its reason; set when the
	// round is published.
	Excluded    []Exclusion
	PublishedAt time.Time
	Status      Status
	Version     int
	CreatedAt   time.Time
	CreatedBy   string
	UpdatedAt   time.Time
}

// HasCountry tells whether country takes part in the round.
func (r *Round) HasCountry(country string) bool { return slices.Contains(r.Countries, country) }

// RoundInput is what a coordinator sets on a round.
type RoundInput struct {
	ID                 string
	Name               string
	Questionnaire      string
	QuestionnaireVer   string
	ReferenceDate      string
	Countries          []string
	AnswersDue         string
	ReviewsDue         string
	Previous           string
	BlindReview        bool
	ReviewersPerAnswer int
	PublicAnswers      bool
}

// Exclusion leaves a country out of a round's publication, with the reason.
type Exclusion struct {
	Country string
	Reason  string
}

// IsExcluded tells whether country is left out of the round's publication.
func (r *Round) IsExcluded(country string) bool {
	return slices.ContainsFunc(r.Excluded, func(e Exclusion) bool { return e.Country == country })
}

var (
	slugRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	countryRe = regexp.MustCompile(`^[A-Z]{2,3}$`)
	yearRe    = regexp.MustCompile(`^[0-9]{4}$`)
)

// validate checks the input on its own; references to other entities are checked by the service.
func (in *RoundInput) validate() []FieldError {
	var p []FieldError
	add := func(field, reason string) { p = append(p, FieldError{field, reason}) }
	if !slugRe.MatchString(in.ID) {
		add("id", "must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit")
	}
	if in.Name == "" || len(in.Name) > 200 {
		add("name", "is required, at most 200 characters")
	}
	if in.Questionnaire == "" {
		add("questionnaire", "is required")
	}
	if in.QuestionnaireVer == "" {
		add("questionnaire_version", "is required")
	}
	if in.ReferenceDate != "" && !yearRe.MatchString(in.ReferenceDate) && !validDate(in.ReferenceDate) {
		add("reference_date", "must be a year (2025) or a date (2025-01-01)")
	}
	if len(in.Countries) == 0 {
		add("countries", "must list at least one country")
	}
	if len(in.Countries) > 400 {
		add("countries", "at most 400 countries")
	}
	seen := map[string]bool{}
	for i, c := range in.Countries {
		if !countryRe.MatchString(c) {
			add(fmt.Sprintf("countries[%d]", i), "must be an ISO 3166 code of 2 or 3 capital letters")
		} else if seen[c] {
			add(fmt.Sprintf("countries[%d]", i), "is listed twice")
		}
		seen[c] = true
	}
	for field, d := range map[string]string{"answers_due": in.AnswersDue, "reviews_due": in.ReviewsDue} {
		if d != "" && !validDate(d) {
			add(field, "must be a date YYYY-MM-DD")
		}
	}
	if in.AnswersDue != "" && in.ReviewsDue != "" && validDate(in.AnswersDue) && validDate(in.ReviewsDue) && in.ReviewsDue < in.AnswersDue {
		add("reviews_due", "must not be before answers_due")
	}
	if in.Previous != "" && (!slugRe.MatchString(in.Previous) || in.Previous == in.ID) {
		add("previous", "must be the id of another round")
	}
	if in.ReviewersPerAnswer < 0 || in.ReviewersPerAnswer > 5 {
		add("reviewers_per_answer", "must be between 0 and 5")
	}
	slices.SortFunc(p, func(a, b FieldError) int {
		if a.Field < b.Field {
			return -1
		}
		if a.Field > b.Field {
			return 1
		}
		return 0
	})
	return p
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
