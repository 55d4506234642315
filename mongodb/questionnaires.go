package mongodb

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/questionnaire"
)

const (
	// colQuestionnaires holds one projection per questionnaire, keyed by its code; its log is
	// stream "questionnaire/<code>".
	colQuestionnaires = "questionnaires"
	// colQuestionnaireVersions holds one projection per version, keyed "<code>/<version>",
	// definition included, so that reading a version is one point read; its log is stream
	// "questionnaire/<code>/<version>". Codes and labels cannot contain "/", so the two kinds
	// of stream never share a key.
	colQuestionnaireVersions = "questionnaire_versions"
)

// maxDefinitionJSON keeps a version (its projection, and its log entry with the definition in
// the after-state) under MongoDB's 16 MB document limit. The largest real instruments are a few
// megabytes.
const maxDefinitionJSON = 12 << 20

// questionnaireJSON is a questionnaire's full state: the projection and each log entry's
// after-state.
type questionnaireJSON struct {
	Code      string    `json:"code" bson:"_id"`
	Title     string    `json:"title" bson:"title"`
	Revision  int64     `json:"revision" bson:"revision"`
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
	CreatedBy string    `json:"created_by" bson:"created_by"`
	UpdatedAt time.Time `json:"updated_at" bson:"updated_at"`
	UpdatedBy string    `json:"updated_by" bson:"updated_by"`
}

// versionMeta is a version's state without its definition: the listing's projection, and the
// audit before-state of a change. (The replaced definition is the after-state of the previous
// entry of the same log, so repeating it would only double the size of every entry.)
type versionMeta struct {
	Questionnaire string    `json:"questionnaire" bson:"questionnaire"`
	Version       string    `json:"version" bson:"version"`
	Status        string    `json:"status" bson:"status"`
	From          string    `json:"from,omitempty" bson:"from,omitempty"`
	Revision      int64     `json:"revision" bson:"revision"`
	CreatedAt     time.Time `json:"created_at" bson:"created_at"`
	CreatedBy     string    `json:"created_by" bson:"created_by"`
	UpdatedAt     time.Time `json:"updated_at" bson:"updated_at"`
	UpdatedBy     string    `json:"updated_by" bson:"updated_by"`
	PublishedAt   time.Time `json:"published_at,omitzero" bson:"published_at,omitempty"`
	PublishedBy   string    `json:"published_by,omitempty" bson:"published_by,omitempty"`
}

// versionJSON is a version's full state, each log entry's after-state: the definition is
// nested as JSON, readable in the audit trail.
type versionJSON struct {
	versionMeta
	Definition json.RawMessage `json:"definition,omitempty"`
}

// versionDoc is the stored projection, its definition a document (the definition's JSON form,
// converted once, so that its tree can be queried; schema 1 kept it as JSON text).
type versionDoc struct {
	ID         string      `bson:"_id"`
	Meta       versionMeta `bson:",inline"`
	Definition any         `bson:"definition,omitempty"`
}

// storedVersionDoc is versionDoc as read: either schema's definition.
type storedVersionDoc struct {
	ID         string        `bson:"_id"`
	Meta       versionMeta   `bson:",inline"`
	Definition bson.RawValue `bson:"definition"`
}

func toQuestionnaireJSON(q *questionnaire.Questionnaire) questionnaireJSON {
	return questionnaireJSON{Code: q.Code, Title: q.Title, Revision: q.Revision,
		CreatedAt: q.CreatedAt.UTC(), CreatedBy: q.CreatedBy, UpdatedAt: q.UpdatedAt.UTC(), UpdatedBy: q.UpdatedBy}
}

func fromQuestionnaireJSON(d questionnaireJSON) *questionnaire.Questionnaire {
	return &questionnaire.Questionnaire{Code: d.Code, Title: d.Title, Revision: d.Revision,
		CreatedAt: d.CreatedAt.UTC(), CreatedBy: d.CreatedBy, UpdatedAt: d.UpdatedAt.UTC(), UpdatedBy: d.UpdatedBy}
}

func toVersionMeta(v *questionnaire.Version) versionMeta {
	return versionMeta{
		Questionnaire: v.Questionnaire, Version: v.Version, Status: string(v.Status), From: v.From, Revision: v.Revision,
		CreatedAt: v.CreatedAt.UTC(), CreatedBy: v.CreatedBy, UpdatedAt: v.UpdatedAt.UTC(), UpdatedBy: v.UpdatedBy,
		PublishedAt: v.PublishedAt.UTC(), PublishedBy: v.PublishedBy,
	}
}

func toVersionJSON(v *questionnaire.Version) (versionJSON, error) {
	out := versionJSON{versionMeta: toVersionMeta(v)}
	if v.Definition != nil {
		b, err := json.Marshal(v.Definition)
		if err != nil {
			// Only numbers JSON cannot carry (NaN, infinities) get here; Validate reports them.
			return versionJSON{}, fmt.Errorf("%w: the definition cannot be stored: %w", questionnaire.ErrInvalid, err)
		}
		if len(b) > maxDefinitionJSON {
			return versionJSON{}, fmt.Errorf("%w: the definition is %d bytes as JSON; at most %d can be stored",
				questionnaire.ErrInvalid, len(b), maxDefinitionJSON)
		}
		out.Definition = b
	}
	return out, nil
}

// fromVersionJSON rebuilds a version; withDefinition false leaves the definition out, for
// listings.
func fromVersionJSON(d versionJSON, withDefinition bool) (*questionnaire.Version, error) {
	m := d.versionMeta
	v := &questionnaire.Version{
		Questionnaire: m.Questionnaire, Version: m.Version, Status: questionnaire.Status(m.Status), From: m.From, Revision: m.Revision,
		CreatedAt: m.CreatedAt.UTC(), CreatedBy: m.CreatedBy, UpdatedAt: m.UpdatedAt.UTC(), UpdatedBy: m.UpdatedBy,
		PublishedAt: zeroIfEpochless(m.PublishedAt), PublishedBy: m.PublishedBy,
	}
	if withDefinition {
		v.Definition = new(questionnaire.Definition)
		if len(d.Definition) > 0 {
			if err := json.Unmarshal(d.Definition, v.Definition); err != nil {
				return nil, fmt.Errorf("decode definition of %s/%s: %w", m.Questionnaire, m.Version, err)
			}
		}
	}
	return v, nil
}

func questionnaireStream(code string) string { return "questionnaire/" + code }

func versionID(code, version string) string { return code + "/" + version }

func versionStream(code, version string) string { return "questionnaire/" + versionID(code, version) }

// CreateQuestionnaire implements questionnaire.Store.
func (s *Store) CreateQuestionnaire(ctx context.Context, q *questionnaire.Questionnaire, action string) error {
	after := toQuestionnaireJSON(q)
	ev, err := audit.New(ctx, action, questionnaireStream(q.Code), nil, after, q.UpdatedAt)
	if err != nil {
		return err
	}
	won, err := s.appendEvent(ctx, questionnaireStream(q.Code), q.Revision, ev)
	if err != nil {
		return err
	}
	if !won {
		return fmt.Errorf("questionnaire %q exists: %w", q.Code, questionnaire.ErrConflict)
	}
	// The entry in the log is the write; a lost projection write is repaired by the next read.
	s.writeProjection(ctx, colQuestionnaires, q.Code, after)
	return nil
}

// Questionnaire implements questionnaire.Store.
func (s *Store) Questionnaire(ctx context.Context, code string) (*questionnaire.Questionnaire, error) {
	var d questionnaireJSON
	err := s.db.Collection(colQuestionnaires).FindOne(ctx, byID(code)).Decode(&d)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("read questionnaire: %w", err)
	}
	behind := false
	for {
		ev, ok, err := s.readEvent(ctx, questionnaireStream(code), d.Revision+1)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		var next questionnaireJSON
		if err := json.Unmarshal(ev.After, &next); err != nil {
			return nil, fmt.Errorf("decode questionnaire log entry %s: %w", ev.ID, err)
		}
		d, behind = next, true
	}
	if d.Revision == 0 {
		return nil, fmt.Errorf("questionnaire %q: %w", code, questionnaire.ErrNotFound)
	}
	if behind {
		s.writeProjection(ctx, colQuestionnaires, code, d)
	}
	return fromQuestionnaireJSON(d), nil
}

// Questionnaires implements questionnaire.Store. An index has a handful of questionnaires, so
// the full listing is cheap on both servers; it may show a projection one write behind.
func (s *Store) Questionnaires(ctx context.Context) ([]questionnaire.Questionnaire, error) {
	docs, err := findAll[questionnaireJSON](ctx, s.db.Collection(colQuestionnaires), bson.D{}, "list questionnaires", options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]questionnaire.Questionnaire, 0, len(docs))
	for _, d := range docs {
		out = append(out, *fromQuestionnaireJSON(d))
	}
	return out, nil
}

// Version implements questionnaire.Store.
func (s *Store) Version(ctx context.Context, code, version string) (*questionnaire.Version, error) {
	var d storedVersionDoc
	err := s.db.Collection(colQuestionnaireVersions).FindOne(ctx, byID(versionID(code, version))).Decode(&d)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("read questionnaire version: %w", err)
	}
	def, err := stateJSON(d.Definition)
	if err != nil {
		return nil, fmt.Errorf("decode definition of %s/%s: %w", code, version, err)
	}
	st := versionJSON{versionMeta: d.Meta, Definition: def}
	n, err := s.catchUpVersion(ctx, code, version, &st)
	if err != nil {
		return nil, err
	}
	if st.Revision == 0 {
		return nil, fmt.Errorf("questionnaire %s has no version %q: %w", code, version, questionnaire.ErrNotFound)
	}
	if n > 0 {
		// Store the repaired state so that the next reader does not replay the same entries.
		// Best effort: the log stays the truth.
		s.writeVersionProjection(ctx, st)
	}
	return fromVersionJSON(st, true)
}

// catchUpVersion applies the log entries after st.Revision (a writer stopped between its two
// writes, or two projection writes landed out of order: the newest entry wins) and tells how
// many there were.
func (s *Store) catchUpVersion(ctx context.Context, code, version string, st *versionJSON) (int, error) {
	n := 0
	for {
		ev, ok, err := s.readEvent(ctx, versionStream(code, version), st.Revision+1)
		if err != nil || !ok {
			return n, err
		}
		var next versionJSON
		if err := json.Unmarshal(ev.After, &next); err != nil {
			return n, fmt.Errorf("decode questionnaire log entry %s: %w", ev.ID, err)
		}
		*st = next
		n++
	}
}

// writeVersionProjection stores the version as the projection readers start from. A failed
// write only means that the next reader replays the log again, so it is logged, not returned.
func (s *Store) writeVersionProjection(ctx context.Context, st versionJSON) {
	d := versionDoc{ID: versionID(st.Questionnaire, st.Version), Meta: st.versionMeta}
	def, err := jsonToBSON(st.Definition)
	if err == nil {
		if def != nil {
			d.Definition = def
		}
		_, err = s.db.Collection(colQuestionnaireVersions).ReplaceOne(ctx, byID(d.ID), d, options.Replace().SetUpsert(true))
	}
	if err != nil {
		s.logger.Warn("questionnaire version projection not written; readers replay its log", "version", d.ID, "err", err)
	}
}

// Versions implements questionnaire.Store. A questionnaire has a few versions (one every year
// or two), so the filter's scan on the embedded store is cheap once the definitions are left
// out; each listed version is then brought up to date from its log with one point read.
func (s *Store) Versions(ctx context.Context, code string) ([]questionnaire.Version, error) {
	opts := options.Find().SetProjection(bson.D{{Key: "definition", Value: 0}})
	docs, err := findAll[storedVersionDoc](ctx, s.db.Collection(colQuestionnaireVersions), bson.D{{Key: "questionnaire", Value: code}}, "list questionnaire versions", opts)
	if err != nil {
		return nil, err
	}
	out := make([]questionnaire.Version, 0, len(docs))
	for _, d := range docs {
		st := versionJSON{versionMeta: d.Meta}
		if _, err := s.catchUpVersion(ctx, code, d.Meta.Version, &st); err != nil {
			return nil, err
		}
		v, err := fromVersionJSON(st, false)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b questionnaire.Version) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Version, b.Version)
	})
	return out, nil
}

// SaveVersion implements questionnaire.Store.
func (s *Store) SaveVersion(ctx context.Context, before, v *questionnaire.Version, action string) error {
	after, err := toVersionJSON(v)
	if err != nil {
		return err
	}
	var prev any
	if before != nil {
		prev = toVersionMeta(before)
	}
	stream := versionStream(v.Questionnaire, v.Version)
	ev, err := audit.New(ctx, action, stream, prev, after, v.UpdatedAt)
	if err != nil {
		return err
	}
	won, err := s.appendEvent(ctx, stream, v.Revision, ev)
	if errors.Is(err, errNotStorable) {
		return fmt.Errorf("%w: the definition cannot be stored: %w", questionnaire.ErrInvalid, err)
	}
	if err != nil {
		return err
	}
	if !won {
		if before == nil {
			return fmt.Errorf("questionnaire %s already has a version %s: %w", v.Questionnaire, v.Version, questionnaire.ErrConflict)
		}
		return fmt.Errorf("version %s of %s changed since revision %d: %w", v.Version, v.Questionnaire, before.Revision, questionnaire.ErrStale)
	}
	s.writeVersionProjection(ctx, after)
	return nil
}
