package mongodb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/round"
)

const colRounds = "rounds"

// roundJSON is a round's full state; it is both the projection's payload and each log entry's
// after-state, so the newest entry alone rebuilds the projection.
type roundJSON struct {
	ID                 string         `json:"id" bson:"_id"`
	Name               string         `json:"name" bson:"name"`
	Questionnaire      string         `json:"questionnaire" bson:"questionnaire"`
	QuestionnaireVer   string         `json:"questionnaire_version" bson:"questionnaire_version"`
	ReferenceDate      string         `json:"reference_date,omitempty" bson:"reference_date,omitempty"`
	Countries          []string       `json:"countries" bson:"countries"`
	AnswersDue         string         `json:"answers_due,omitempty" bson:"answers_due,omitempty"`
	ReviewsDue         string         `json:"reviews_due,omitempty" bson:"reviews_due,omitempty"`
	Previous           string         `json:"previous,omitempty" bson:"previous,omitempty"`
	BlindReview        bool           `json:"blind_review" bson:"blind_review"`
	ReviewersPerAnswer int            `json:"reviewers_per_answer" bson:"reviewers_per_answer"`
	PublicAnswers      bool           `json:"public_answers,omitempty" bson:"public_answers,omitempty"`
	Excluded           []exclusionDoc `json:"excluded,omitempty" bson:"excluded,omitempty"`
	PublishedAt        *time.Time     `json:"published_at,omitempty" bson:"published_at,omitempty"`
	Status             string         `json:"status" bson:"status"`
	Version            int            `json:"version" bson:"version"`
	CreatedAt          time.Time      `json:"created_at" bson:"created_at"`
	CreatedBy          string         `json:"created_by" bson:"created_by"`
	UpdatedAt          time.Time      `json:"updated_at" bson:"updated_at"`
}

// exclusionDoc is a country left out of a round's publication.
type exclusionDoc struct {
	Country string `json:"country" bson:"country"`
	Reason  string `json:"reason" bson:"reason"`
}

func toRoundJSON(r *round.Round) roundJSON {
	d := roundJSON{
		ID: r.ID, Name: r.Name, Questionnaire: r.Questionnaire, QuestionnaireVer: r.QuestionnaireVer,
		ReferenceDate: r.ReferenceDate, Countries: r.Countries, AnswersDue: r.AnswersDue, ReviewsDue: r.ReviewsDue,
		Previous: r.Previous, BlindReview: r.BlindReview, ReviewersPerAnswer: r.ReviewersPerAnswer,
		Status: string(r.Status), Version: r.Version, CreatedAt: r.CreatedAt.UTC(), CreatedBy: r.CreatedBy, UpdatedAt: r.UpdatedAt.UTC(),
		PublicAnswers: r.PublicAnswers, PublishedAt: optTime(r.PublishedAt),
	}
	for _, e := range r.Excluded {
		d.Excluded = append(d.Excluded, exclusionDoc(e))
	}
	return d
}

func fromRoundJSON(d roundJSON) *round.Round {
	r := &round.Round{
		ID: d.ID, Name: d.Name, Questionnaire: d.Questionnaire, QuestionnaireVer: d.QuestionnaireVer,
		ReferenceDate: d.ReferenceDate, Countries: d.Countries, AnswersDue: d.AnswersDue, ReviewsDue: d.ReviewsDue,
		Previous: d.Previous, BlindReview: d.BlindReview, ReviewersPerAnswer: d.ReviewersPerAnswer,
		Status: round.Status(d.Status), Version: d.Version, CreatedAt: d.CreatedAt.UTC(), CreatedBy: d.CreatedBy, UpdatedAt: d.UpdatedAt.UTC(),
		PublicAnswers: d.PublicAnswers, PublishedAt: fromOptTime(d.PublishedAt),
	}
	for _, e := range d.Excluded {
		r.Excluded = append(r.Excluded, round.Exclusion(e))
	}
	return r
}

func roundStream(id string) string { return "round/" + id }

// Round implements round.RoundStore. Every request about a sheet reads its round, so each
// instance keeps the rounds it has seen and, like for sheets, only probes the log position after
// its copy: one point read, which also sees another instance's changes at once.
func (s *Store) Round(ctx context.Context, id string) (*round.Round, error) {
	// Every save and read probes its round's log, so that a status change is seen at once;
	// concurrent probes of one round are coalesced (freshReads), each still seeing every write
	// acknowledged before it asked.
	d, err := s.roundReads.do(ctx, id, func(ctx context.Context) (roundJSON, error) { return s.readRound(ctx, id) })
	if err != nil {
		return nil, err
	}
	if d.Version == 0 {
		return nil, fmt.Errorf("round %q: %w", id, round.ErrNotFound)
	}
	d.Countries = slices.Clone(d.Countries)
	return fromRoundJSON(d), nil
}

// readRound reads a round: this instance's newest state, or the projection, and then the log
// entries after it.
func (s *Store) readRound(ctx context.Context, id string) (roundJSON, error) {
	d, cached := s.roundCache.get(id)
	if !cached {
		err := s.db.Collection(colRounds).FindOne(ctx, byID(id)).Decode(&d)
		if err != nil && !isNotFound(err) {
			return roundJSON{}, fmt.Errorf("read round: %w", err)
		}
	}
	// The log may be ahead of the projection (a writer stopped between the two writes, or two
	// projection writes landed out of order): the newest entry's after-state wins.
	for {
		ev, ok, err := s.readEvent(ctx, roundStream(id), int64(d.Version)+1)
		if err != nil {
			return roundJSON{}, err
		}
		if !ok {
			break
		}
		if err := json.Unmarshal(ev.After, &d); err != nil {
			return roundJSON{}, fmt.Errorf("decode round log entry %s: %w", ev.ID, err)
		}
	}
	if d.Version > 0 {
		s.roundCache.put(d)
	}
	return d, nil
}

// roundCache keeps the newest state of each round this instance has seen.
type roundCache struct {
	mu     sync.Mutex
	rounds map[string]roundJSON
}

func (c *roundCache) get(id string) (roundJSON, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.rounds[id]
	d.Countries = slices.Clone(d.Countries)
	return d, ok
}

func (c *roundCache) put(d roundJSON) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rounds == nil {
		c.rounds = map[string]roundJSON{}
	}
	if old, ok := c.rounds[d.ID]; !ok || old.Version < d.Version {
		d.Countries = slices.Clone(d.Countries)
		c.rounds[d.ID] = d
	}
}

// SaveRound implements round.RoundStore.
func (s *Store) SaveRound(ctx context.Context, before, r *round.Round, action string) error {
	var prev any
	if before != nil {
		prev = toRoundJSON(before)
	}
	after := toRoundJSON(r)
	ev, err := audit.New(ctx, action, "round/"+r.ID, prev, after, r.UpdatedAt)
	if err != nil {
		return err
	}
	won, err := s.appendEvent(ctx, roundStream(r.ID), int64(r.Version), ev)
	if err != nil {
		return err
	}
	if !won {
		if before == nil {
			return fmt.Errorf("round %q exists: %w", r.ID, round.ErrConflict)
		}
		return fmt.Errorf("round %q changed since version %d: %w", r.ID, before.Version, round.ErrStale)
	}
	s.roundCache.put(after)
	s.writeProjection(ctx, colRounds, r.ID, after)
	return nil
}

// Rounds implements round.RoundStore. Rounds are few (one or two a year per index), so a full
// listing is cheap on both servers.
func (s *Store) Rounds(ctx context.Context) ([]round.Round, error) {
	docs, err := findAll[roundJSON](ctx, s.db.Collection(colRounds), bson.D{}, "list rounds", options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]round.Round, 0, len(docs))
	for _, d := range docs {
		// A listing may show a projection one write behind; reads of one round catch up.
		out = append(out, *fromRoundJSON(d))
	}
	return out, nil
}
