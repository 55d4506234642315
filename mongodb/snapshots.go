package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/publish"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// colSnapshots holds one document per lock of a sheet, keyed "<round>/<country>/<revision>",
// inserted once and never updated (see publish.Store).
const colSnapshots = "snapshots"

type snapshotDoc struct {
	ID            string            `bson:"_id"`
	Round         string            `bson:"round"`
	Country       string            `bson:"country"`
	Questionnaire string            `bson:"questionnaire"`
	Version       string            `bson:"questionnaire_version"`
	Revision      int               `bson:"revision"`
	LockedBy      string            `bson:"locked_by"`
	LockedAt      time.Time         `bson:"locked_at"`
	Reopened      *snapReopenDoc    `bson:"reopened,omitempty"`
	Answers       []snapAnswerDoc   `bson:"answers"`
	Overrides     []snapOverrideDoc `bson:"overrides"`
	Nodes         []snapNodeDoc     `bson:"nodes"`
	Variants      []snapVariantDoc  `bson:"variants"`
	Hash          string            `bson:"hash"`
}

type snapReopenDoc struct {
	By     string    `bson:"by"`
	At     time.Time `bson:"at"`
	Reason string    `bson:"reason"`
}

type snapAnswerDoc struct {
	Indicator     string            `bson:"indicator"`
	Option        string            `bson:"option,omitempty"`
	Value         *float64          `bson:"value,omitempty"`
	Text          string            `bson:"text,omitempty"`
	NotApplicable bool              `bson:"not_applicable,omitempty"`
	NAReason      string            `bson:"na_reason,omitempty"`
	Comment       string            `bson:"comment,omitempty"`
	Sources       []sourceDoc       `bson:"sources,omitempty"`
	Carried       bool              `bson:"carried,omitempty"`
	Changed       bool              `bson:"changed,omitempty"`
	Justification string            `bson:"justification,omitempty"`
	Inapplicable  bool              `bson:"inapplicable,omitempty"`
	Version       int               `bson:"version"`
	UpdatedBy     string            `bson:"updated_by,omitempty"`
	UpdatedAt     *time.Time        `bson:"updated_at,omitempty"`
	Comments      []snapCommentDoc  `bson:"comments,omitempty"`
	Verdicts      []snapVerdictDoc  `bson:"verdicts,omitempty"`
	Adjudication  *snapAdjudication `bson:"adjudication,omitempty"`
}

type snapCommentDoc struct {
	Author string    `bson:"author"`
	At     time.Time `bson:"at"`
	Text   string    `bson:"text"`
}

type snapVerdictDoc struct {
	Reviewer        string    `bson:"reviewer"`
	AnswerVersion   int       `bson:"answer_version"`
	Verdict         string    `bson:"verdict"`
	SuggestedOption string    `bson:"suggested_option,omitempty"`
	Reason          string    `bson:"reason,omitempty"`
	At              time.Time `bson:"at"`
}

type snapAdjudication struct {
	By            string    `bson:"by"`
	AnswerVersion int       `bson:"answer_version"`
	Option        string    `bson:"option,omitempty"`
	Rationale     string    `bson:"rationale"`
	At            time.Time `bson:"at"`
}

type snapOverrideDoc struct {
	Node   string    `bson:"node"`
	Score  float64   `bson:"score"`
	Reason string    `bson:"reason"`
	By     string    `bson:"by"`
	At     time.Time `bson:"at"`
}

type snapMissingDoc struct {
	Reason string `bson:"reason"`
	Child  string `bson:"child,omitempty"`
	Detail string `bson:"detail,omitempty"`
}

type snapNodeDoc struct {
	Code      string          `bson:"code"`
	Score     *float64        `bson:"score"`
	Unrounded *float64        `bson:"unrounded,omitempty"`
	Missing   *snapMissingDoc `bson:"missing,omitempty"`
	Override  *snapAppliedDoc `bson:"override,omitempty"`
}

type snapAppliedDoc struct {
	Computed *float64 `bson:"computed"`
	Reason   string   `bson:"reason"`
}

type snapVariantDoc struct {
	Name      string          `bson:"name"`
	Score     *float64        `bson:"score"`
	Unrounded *float64        `bson:"unrounded,omitempty"`
	Missing   *snapMissingDoc `bson:"missing,omitempty"`
}

func toMissingDoc(m *questionnaire.Missing) *snapMissingDoc {
	if m == nil {
		return nil
	}
	return &snapMissingDoc{Reason: string(m.Reason), Child: m.Child, Detail: m.Detail}
}

func fromMissingDoc(m *snapMissingDoc) *questionnaire.Missing {
	if m == nil {
		return nil
	}
	return &questionnaire.Missing{Reason: questionnaire.Reason(m.Reason), Child: m.Child, Detail: m.Detail}
}

func toSnapshotDoc(s *snapshot.Snapshot) snapshotDoc {
	d := snapshotDoc{ID: publish.SnapshotID(s.Round, s.Country, s.Revision), Round: s.Round, Country: s.Country,
		Questionnaire: s.Questionnaire, Version: s.Version, Revision: s.Revision, LockedBy: s.LockedBy,
		LockedAt: s.LockedAt.UTC(), Hash: s.Hash,
		Answers: []snapAnswerDoc{}, Overrides: []snapOverrideDoc{}, Nodes: []snapNodeDoc{}, Variants: []snapVariantDoc{}}
	if r := s.Reopened; r != nil {
		d.Reopened = &snapReopenDoc{By: r.By, At: r.At.UTC(), Reason: r.Reason}
	}
	for _, a := range s.Answers {
		ad := snapAnswerDoc{Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text, NotApplicable: a.NotApplicable,
			NAReason: a.NAReason, Comment: a.Comment, Sources: toSourceDocs(a.Sources), Carried: a.Carried, Changed: a.Changed,
			Justification: a.Justification, Inapplicable: a.Inapplicable, Version: a.Version, UpdatedBy: a.UpdatedBy, UpdatedAt: optTime(a.UpdatedAt)}
		for _, c := range a.Comments {
			ad.Comments = append(ad.Comments, snapCommentDoc{Author: c.Author, At: c.At.UTC(), Text: c.Text})
		}
		for _, v := range a.Verdicts {
			ad.Verdicts = append(ad.Verdicts, snapVerdictDoc{Reviewer: v.Reviewer, AnswerVersion: v.AnswerVersion, Verdict: v.Verdict,
				SuggestedOption: v.SuggestedOption, Reason: v.Reason, At: v.At.UTC()})
		}
		if j := a.Adjudication; j != nil {
			ad.Adjudication = &snapAdjudication{By: j.By, AnswerVersion: j.AnswerVersion, Option: j.Option, Rationale: j.Rationale, At: j.At.UTC()}
		}
		d.Answers = append(d.Answers, ad)
	}
	for _, o := range s.Overrides {
		d.Overrides = append(d.Overrides, snapOverrideDoc{Node: o.Node, Score: o.Score, Reason: o.Reason, By: o.By, At: o.At.UTC()})
	}
	for _, n := range s.Nodes {
		nd := snapNodeDoc{Code: n.Code, Score: n.Score, Unrounded: n.Unrounded, Missing: toMissingDoc(n.Missing)}
		if o := n.Override; o != nil {
			nd.Override = &snapAppliedDoc{Computed: o.Computed, Reason: o.Reason}
		}
		d.Nodes = append(d.Nodes, nd)
	}
	for _, v := range s.Variants {
		d.Variants = append(d.Variants, snapVariantDoc{Name: v.Name, Score: v.Score, Unrounded: v.Unrounded, Missing: toMissingDoc(v.Missing)})
	}
	return d
}

func fromSnapshotDoc(d snapshotDoc) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Round: d.Round, Country: d.Country, Questionnaire: d.Questionnaire, Version: d.Version,
		Revision: d.Revision, LockedBy: d.LockedBy, LockedAt: d.LockedAt.UTC(), Hash: d.Hash}
	if r := d.Reopened; r != nil {
		s.Reopened = &snapshot.Reopen{By: r.By, At: r.At.UTC(), Reason: r.Reason}
	}
	for _, a := range d.Answers {
		sa := snapshot.Answer{Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text, NotApplicable: a.NotApplicable,
			NAReason: a.NAReason, Comment: a.Comment, Sources: fromSourceDocs(a.Sources), Carried: a.Carried, Changed: a.Changed,
			Justification: a.Justification, Inapplicable: a.Inapplicable, Version: a.Version, UpdatedBy: a.UpdatedBy, UpdatedAt: fromOptTime(a.UpdatedAt)}
		for _, c := range a.Comments {
			sa.Comments = append(sa.Comments, snapshot.Comment{Author: c.Author, At: c.At.UTC(), Text: c.Text})
		}
		for _, v := range a.Verdicts {
			sa.Verdicts = append(sa.Verdicts, snapshot.Verdict{Reviewer: v.Reviewer, AnswerVersion: v.AnswerVersion, Verdict: v.Verdict,
				SuggestedOption: v.SuggestedOption, Reason: v.Reason, At: v.At.UTC()})
		}
		if j := a.Adjudication; j != nil {
			sa.Adjudication = &snapshot.Adjudication{By: j.By, AnswerVersion: j.AnswerVersion, Option: j.Option, Rationale: j.Rationale, At: j.At.UTC()}
		}
		s.Answers = append(s.Answers, sa)
	}
	for _, o := range d.Overrides {
		s.Overrides = append(s.Overrides, snapshot.Override{Node: o.Node, Score: o.Score, Reason: o.Reason, By: o.By, At: o.At.UTC()})
	}
	for _, n := range d.Nodes {
		ns := questionnaire.NodeScore{Code: n.Code, Score: n.Score, Unrounded: n.Unrounded, Missing: fromMissingDoc(n.Missing)}
		if o := n.Override; o != nil {
			ns.Override = &questionnaire.AppliedOverride{Computed: o.Computed, Reason: o.Reason}
		}
		s.Nodes = append(s.Nodes, ns)
	}
	for _, v := range d.Variants {
		s.Variants = append(s.Variants, questionnaire.VariantScore{Name: v.Name, Score: v.Score, Unrounded: v.Unrounded, Missing: fromMissingDoc(v.Missing)})
	}
	return s
}

// snapshotsWriteConcern is majority on MongoDB: a snapshot holds published scores, which must
// survive a fail-over. The embedded store has one node (nil: the server's default).
func (s *Store) snapshotsWriteConcern() *writeconcern.WriteConcern {
	if s.Embedded() {
		return nil
	}
	return writeconcern.Majority()
}

// snapshots is the collection as snapshots are written to it.
func (s *Store) snapshots() *mongo.Collection {
	return s.db.Collection(colSnapshots, options.Collection().SetWriteConcern(s.snapshotsWriteConcern()))
}

// InsertSnapshot implements publish.Store.
func (s *Store) InsertSnapshot(ctx context.Context, snap *snapshot.Snapshot) error {
	d := toSnapshotDoc(snap)
	_, err := s.snapshots().InsertOne(ctx, d)
	if err == nil {
		return nil
	}
	if !isDuplicateKey(err) {
		return fmt.Errorf("insert snapshot %s: %w", d.ID, err)
	}
	cur, rerr := s.Snapshot(ctx, snap.Round, snap.Country, snap.Revision)
	if rerr != nil {
		return rerr
	}
	if cur.Hash != snap.Hash {
		return fmt.Errorf("snapshot %s is stored with hash %s, not %s: %w", d.ID, cur.Hash, snap.Hash, round.ErrConflict)
	}
	return nil
}

// Snapshot implements publish.Store.
func (s *Store) Snapshot(ctx context.Context, roundID, country string, revision int) (*snapshot.Snapshot, error) {
	id := publish.SnapshotID(roundID, country, revision)
	var d snapshotDoc
	err := s.db.Collection(colSnapshots).FindOne(ctx, byID(id)).Decode(&d)
	if isNotFound(err) {
		return nil, fmt.Errorf("snapshot %s: %w", id, round.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", id, err)
	}
	return fromSnapshotDoc(d), nil
}

// exportStream is the audit log of a round's exports.
func exportStream(roundID string) string { return "export/" + roundID }

// RecordExport implements publish.Store. An export changes nothing, so its event has no
// position of its own in any entity's log: its position is its time in nanoseconds, which keeps
// the stream in time order and never needs a read of the stream's end (a scan on the embedded
// store). Two exports of the same round in the same nanosecond take the next free position.
func (s *Store) RecordExport(ctx context.Context, roundID string, ev audit.Event) error {
	seq := ev.Time.UnixNano()
	for range 16 {
		won, err := s.appendEvent(ctx, exportStream(roundID), seq, ev)
		if err != nil || won {
			return err
		}
		seq++
	}
	return fmt.Errorf("record the export of %s: no free position near %d", roundID, ev.Time.UnixNano())
}
