package questionnaire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Sentinel errors of the Service, beside ErrInvalid, ErrFormat and ErrPublished.
var (
	// ErrNotFound: no such questionnaire or version.
	ErrNotFound = errors.New("questionnaire: not found")
	// ErrConflict: the code or version label is taken.
	ErrConflict = errors.New("questionnaire: conflict")
	// ErrStale: the change was based on a revision that is no longer current; a *StaleError
	// carries the current one.
	ErrStale = errors.New("questionnaire: stale revision")
	// ErrRevisionRequired: a change to an existing version must say which revision it is based
	// on, so that it can never silently overwrite another change.
	ErrRevisionRequired = errors.New("questionnaire: revision required")
	// ErrNotPublished: a published version was asked for (to score or run a round with) and the
	// version is a draft.
	ErrNotPublished = errors.New("questionnaire: version is not published")
)

// StaleError refuses a change based on an old revision and carries the current one, so that
// the client can merge without another request.
type StaleError struct {
	Current *Version
}

func (e *StaleError) Error() string {
	if e.Current == nil {
		return ErrStale.Error()
	}
	return fmt.Sprintf("%s: version %s of %s is at revision %d", ErrStale, e.Current.Version, e.Current.Questionnaire, e.Current.Revision)
}

// Is makes errors.Is(err, ErrStale) true.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// InputError names a request field (a code, a version label, a title, a file format) that is
// not acceptable. Problems inside a definition are a *ValidationError instead.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%s: %s: %s", ErrInvalid, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

// Questionnaire is an instrument over time: a stable code and a title; its content lives in its
// versions.
type Questionnaire struct {
	Code  string
	Title string
	// Revision counts the changes of this record; it is the position of its newest log entry.
	Revision  int64
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
}

// Version is one version of a questionnaire, named by a label such as "2025.1". A draft's
// definition may be replaced and may be invalid; a published version is valid and never
// changes again, because rounds and snapshots score against it.
type Version struct {
	Questionnaire string
	Version       string
	Status        Status
	Definition    *Definition
	// From is the version this one was started from, when it was.
	From string
	// Revision counts the changes of this version (1 when created); a writer names the revision
	// it read (If-Match) and is refused when another change landed first.
	Revision    int64
	CreatedAt   time.Time
	CreatedBy   string
	UpdatedAt   time.Time
	UpdatedBy   string
	PublishedAt time.Time
	PublishedBy string
}

// Problems lists what keeps the version from being published; nil when it is valid.
func (v *Version) Problems() []Problem {
	if v.Definition == nil {
		return []Problem{{Path: "", Message: "the version has no definition"}}
	}
	return v.Definition.Validate()
}

// Audit actions of the changes the Service makes.
const (
	ActionCreate         = "questionnaire.create"
	ActionCreateVersion  = "questionnaire.version.create"
	ActionImportVersion  = "questionnaire.version.import"
	ActionUpdateVersion  = "questionnaire.version.update"
	ActionPublishVersion = "questionnaire.version.publish"
)

// ServiceConfig wires a Service.
type ServiceConfig struct {
	Store Store
	Now   func() time.Time
}

// Service is the questionnaire use cases: create instruments, author draft versions, publish
// them, import and export them, and hand published versions to the rounds, compiled.
type Service struct {
	store Store
	now   func() time.Time

	mu sync.RWMutex
	// published caches compiled published versions. It never needs invalidating: a published
	// version never changes, on this instance or any other.
	published map[versionKey]*publishedVersion
}

type versionKey struct{ code, version string }

type publishedVersion struct {
	def      *Definition
	compiled *Compiled
}

// NewService checks cfg and returns a Service.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("questionnaire: NewService: a store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: cfg.Store, now: cfg.Now, published: map[versionKey]*publishedVersion{}}, nil
}

// clock returns now at the precision the store keeps (BSON dates are milliseconds), so that a
// value returned by a write equals the same value read back.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

var (
	codeRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	versionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
)

// Codes and labels end up in URLs and in log keys ("questionnaire/<code>/<version>"), hence
// the narrow alphabet: no "/", no spaces.
func checkCode(field, code string) error {
	if !codeRe.MatchString(code) {
		return &InputError{Field: field, Reason: "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"}
	}
	return nil
}

func checkVersionLabel(field, label string) error {
	if !versionRe.MatchString(label) {
		return &InputError{Field: field, Reason: "must be 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. 2025.1)"}
	}
	return nil
}

func canWrite(p auth.Principal) error { return p.Can(auth.WriteQuestionnaire, auth.Scope{}) }

func canRead(p auth.Principal) error { return p.Can(auth.ReadQuestionnaire, auth.Scope{}) }

// visible refuses a draft to a principal who may not edit questionnaires: experts and reviewers
// work from published versions only.
func visible(p auth.Principal, v *Version) error {
	if v.Status == StatusPublished {
		return nil
	}
	if err := canWrite(p); err != nil {
		return fmt.Errorf("version %s of %s is a draft, visible to questionnaire editors only: %w", v.Version, v.Questionnaire, err)
	}
	return nil
}

// Questionnaires lists every questionnaire by code.
func (s *Service) Questionnaires(ctx context.Context, p auth.Principal) ([]Questionnaire, error) {
	if err := canRead(p); err != nil {
		return nil, err
	}
	return s.store.Questionnaires(ctx)
}

// Questionnaire returns one questionnaire.
func (s *Service) Questionnaire(ctx context.Context, p auth.Principal, code string) (*Questionnaire, error) {
	if err := canRead(p); err != nil {
		return nil, err
	}
	return s.store.Questionnaire(ctx, code)
}

// Create starts a questionnaire with no version yet.
func (s *Service) Create(ctx context.Context, p auth.Principal, code, title string) (*Questionnaire, error) {
	if err := canWrite(p); err != nil {
		return nil, err
	}
	if err := checkCode("code", code); err != nil {
		return nil, err
	}
	title = strings.TrimSpace(title)
	if title == "" || len(title) > 300 {
		return nil, &InputError{Field: "title", Reason: "must be 1 to 300 characters"}
	}
	now := s.clock()
	q := &Questionnaire{Code: code, Title: title, Revision: 1, CreatedAt: now, CreatedBy: p.UserID, UpdatedAt: now, UpdatedBy: p.UserID}
	if err := s.store.CreateQuestionnaire(ctx, q, ActionCreate); err != nil {
		return nil, err
	}
	return q, nil
}

// Versions lists the versions of a questionnaire, oldest first, without their definitions.
// Drafts are left out for principals who may not edit questionnaires.
func (s *Service) Versions(ctx context.Context, p auth.Principal, code string) ([]Version, error) {
	if err := canRead(p); err != nil {
		return nil, err
	}
	if _, err := s.store.Questionnaire(ctx, code); err != nil {
		return nil, err
	}
	vs, err := s.store.Versions(ctx, code)
	if err != nil {
		return nil, err
	}
	if canWrite(p) != nil {
		vs = slices.DeleteFunc(vs, func(v Version) bool { return v.Status != StatusPublished })
	}
	return vs, nil
}

// Version returns one version with its definition. A draft is refused (auth.ErrForbidden) to
// principals who may not edit questionnaires.
func (s *Service) Version(ctx context.Context, p auth.Principal, code, version string) (*Version, error) {
	if err := canRead(p); err != nil {
		return nil, err
	}
	v, err := s.store.Version(ctx, code, version)
	if err != nil {
		return nil, err
	}
	if err := visible(p, v); err != nil {
		return nil, err
	}
	return v, nil
}

// DraftInput starts a draft version: either with a Definition or From an existing version,
// whose definition it copies.
type DraftInput struct {
	// Version is the new label; empty picks the next free "<year>.<n>".
	Version    string
	Definition *Definition
	From       string
}

// CreateDraft starts a draft version. The definition is saved even when invalid (a draft may
// be half written): Version.Problems tells what keeps it from being published. Only a
// definition of another questionnaire is refused.
func (s *Service) CreateDraft(ctx context.Context, p auth.Principal, code string, in DraftInput) (*Version, error) {
	if err := canWrite(p); err != nil {
		return nil, err
	}
	switch {
	case in.Definition == nil && in.From == "":
		return nil, &InputError{Field: "definition", Reason: "give a definition, or from: the version to start from"}
	case in.Definition != nil && in.From != "":
		return nil, &InputError{Field: "from", Reason: "give either a definition or from, not both"}
	}
	if _, err := s.store.Questionnaire(ctx, code); err != nil {
		return nil, err
	}
	def := in.Definition
	if in.From != "" {
		from, err := s.store.Version(ctx, code, in.From)
		if errors.Is(err, ErrNotFound) {
			return nil, &InputError{Field: "from", Reason: fmt.Sprintf("questionnaire %s has no version %q", code, in.From)}
		}
		if err != nil {
			return nil, err
		}
		if def, err = copyDefinition(from.Definition); err != nil {
			return nil, err
		}
	}
	if err := belongsTo(def, code); err != nil {
		return nil, err
	}
	label, err := s.label(ctx, code, in.Version)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	v := &Version{
		Questionnaire: code, Version: label, Status: StatusDraft, Definition: def, From: in.From,
		Revision: 1, CreatedAt: now, CreatedBy: p.UserID, UpdatedAt: now, UpdatedBy: p.UserID,
	}
	if err := s.store.SaveVersion(ctx, nil, v, ActionCreateVersion); err != nil {
		return nil, err
	}
	return v, nil
}

// NewVersion starts a draft labelled version (empty: the next free "<year>.<n>") from the
// definition of version from, typically the last published one: indicators keep their codes,
// so answers carry forward and Diff matches them.
func (s *Service) NewVersion(ctx context.Context, p auth.Principal, code, from, version string) (*Version, error) {
	if from == "" {
		return nil, &InputError{Field: "from", Reason: "is required"}
	}
	return s.CreateDraft(ctx, p, code, DraftInput{Version: version, From: from})
}

// belongsTo fills in a missing definition code and refuses the definition of another
// questionnaire: versions of one instrument share its code, which carry-forward and Diff rely
// on.
func belongsTo(d *Definition, code string) error {
	if d.Code == "" {
		d.Code = code
		return nil
	}
	if d.Code != code {
		return &ValidationError{Problems: []Problem{{Path: "code", Message: fmt.Sprintf("is %q, but this is questionnaire %q", d.Code, code)}}}
	}
	return nil
}

// label checks a requested version label, or picks the next free "<year>.<n>" when none is
// given. The label's uniqueness is decided by the store when the version is written.
func (s *Service) label(ctx context.Context, code, requested string) (string, error) {
	if requested != "" {
		if err := checkVersionLabel("version", requested); err != nil {
			return "", err
		}
		return requested, nil
	}
	vs, err := s.store.Versions(ctx, code)
	if err != nil {
		return "", err
	}
	year := s.clock().Year()
	for n := 1; ; n++ {
		l := fmt.Sprintf("%d.%d", year, n)
		if !slices.ContainsFunc(vs, func(v Version) bool { return v.Version == l }) {
			return l, nil
		}
	}
}

// change loads a version for a change based on revision and checks that it is still a draft
// at that revision. A published version is refused before a stale one: that it can never change
// again is the more useful answer.
func (s *Service) change(ctx context.Context, p auth.Principal, code, version string, revision int64) (*Version, error) {
	if err := canWrite(p); err != nil {
		return nil, err
	}
	if revision <= 0 {
		return nil, fmt.Errorf("%w: name the revision the change is based on (If-Match)", ErrRevisionRequired)
	}
	cur, err := s.store.Version(ctx, code, version)
	if err != nil {
		return nil, err
	}
	if err := cur.Status.CheckEditable(); err != nil {
		return nil, fmt.Errorf("version %s of %s: %w", version, code, err)
	}
	if cur.Revision != revision {
		return nil, &StaleError{Current: cur}
	}
	return cur, nil
}

// save writes next over cur and, when another change took that revision first, explains the
// refusal from what is there now.
func (s *Service) save(ctx context.Context, cur, next *Version, action string) (*Version, error) {
	err := s.store.SaveVersion(ctx, cur, next, action)
	if err == nil {
		return next, nil
	}
	if !errors.Is(err, ErrStale) {
		return nil, err
	}
	now, rerr := s.store.Version(ctx, cur.Questionnaire, cur.Version)
	if rerr != nil {
		return nil, err
	}
	if perr := now.Status.CheckEditable(); perr != nil {
		return nil, fmt.Errorf("version %s of %s: %w", cur.Version, cur.Questionnaire, perr)
	}
	return nil, &StaleError{Current: now}
}

// SaveDraft replaces the definition of a draft, based on revision (the ETag the client read).
// The definition is saved even when invalid; Version.Problems tells what to fix.
func (s *Service) SaveDraft(ctx context.Context, p auth.Principal, code, version string, d *Definition, revision int64) (*Version, error) {
	if d == nil {
		return nil, &InputError{Field: "definition", Reason: "is required"}
	}
	cur, err := s.change(ctx, p, code, version, revision)
	if err != nil {
		return nil, err
	}
	if err := belongsTo(d, code); err != nil {
		return nil, err
	}
	next := *cur
	next.Definition = d
	next.Revision++
	next.UpdatedAt, next.UpdatedBy = s.clock(), p.UserID
	return s.save(ctx, cur, &next, ActionUpdateVersion)
}

// Publish makes a draft the immutable published version, based on revision. An invalid draft
// is refused with a *ValidationError listing every problem.
func (s *Service) Publish(ctx context.Context, p auth.Principal, code, version string, revision int64) (*Version, error) {
	cur, err := s.change(ctx, p, code, version, revision)
	if err != nil {
		return nil, err
	}
	status, err := cur.Status.Publish(cur.Definition)
	if err != nil {
		return nil, err
	}
	next := *cur
	next.Status = status
	next.Revision++
	now := s.clock()
	next.UpdatedAt, next.UpdatedBy = now, p.UserID
	next.PublishedAt, next.PublishedBy = now, p.UserID
	return s.save(ctx, cur, &next, ActionPublishVersion)
}

// Validation lists the problems of a version (none for a published one).
func (s *Service) Validation(ctx context.Context, p auth.Principal, code, version string) (*Version, []Problem, error) {
	v, err := s.Version(ctx, p, code, version)
	if err != nil {
		return nil, nil, err
	}
	return v, v.Problems(), nil
}

// Diff lists what changed from version from to version to of a questionnaire.
func (s *Service) Diff(ctx context.Context, p auth.Principal, code, from, to string) ([]Change, error) {
	a, err := s.Version(ctx, p, code, from)
	if err != nil {
		return nil, err
	}
	b, err := s.Version(ctx, p, code, to)
	if err != nil {
		return nil, err
	}
	return Diff(a.Definition, b.Definition), nil
}

// Published returns a published version's definition and its compiled form, from a cache:
// published versions never change, so neither can go stale. The rounds call it on every answer
// save. Both results are shared: callers must not modify the definition. A draft is refused with
// ErrNotPublished.
func (s *Service) Published(ctx context.Context, code, version string) (*Definition, *Compiled, error) {
	key := versionKey{code, version}
	s.mu.RLock()
	pv := s.published[key]
	s.mu.RUnlock()
	if pv != nil {
		return pv.def, pv.compiled, nil
	}
	v, err := s.store.Version(ctx, code, version)
	if err != nil {
		return nil, nil, err
	}
	if v.Status != StatusPublished {
		return nil, nil, fmt.Errorf("version %s of %s: %w", version, code, ErrNotPublished)
	}
	c, err := v.Definition.Compile()
	if err != nil {
		// Publishing validated it; failing now means the validation rules changed since.
		return nil, nil, fmt.Errorf("published version %s of %s no longer compiles: %w", version, code, err)
	}
	s.mu.Lock()
	if cached := s.published[key]; cached != nil {
		pv = cached // another caller compiled it meanwhile: keep one copy
	} else {
		pv = &publishedVersion{def: v.Definition, compiled: c}
		s.published[key] = pv
	}
	s.mu.Unlock()
	return pv.def, pv.compiled, nil
}

// Score scores answers against a version, for coordinators testing an instrument: a draft must
// be valid (a *ValidationError otherwise).
func (s *Service) Score(ctx context.Context, p auth.Principal, code, version string, answers Answers, overrides []Override) (*Result, error) {
	v, err := s.Version(ctx, p, code, version)
	if err != nil {
		return nil, err
	}
	var c *Compiled
	if v.Status == StatusPublished {
		_, c, err = s.Published(ctx, code, version)
	} else {
		c, err = v.Definition.Compile()
	}
	if err != nil {
		return nil, err
	}
	r := c.Score(answers, overrides)
	return &r, nil
}

// ImportOptions say what an import does with the file.
type ImportOptions struct {
	// Format is "yaml", "json" or "xlsx".
	Format string
	// Questionnaire is the code the file must have; empty takes the file's code.
	Questionnaire string
	// Version is the new version's label; empty picks the next free "<year>.<n>".
	Version string
	// Publish creates the version published, for back-filled historical instruments.
	Publish bool
}

// Import reads a definition file and stores it as a new version: a draft, or published with
// opts.Publish. The file must decode and validate; otherwise nothing is written and the error is
// ErrFormat (undecodable) or a *ValidationError listing every problem. A questionnaire that does
// not exist yet is created, titled with the file's title in its default language.
func (s *Service) Import(ctx context.Context, p auth.Principal, r io.Reader, opts ImportOptions) (*Version, error) {
	if err := canWrite(p); err != nil {
		return nil, err
	}
	if opts.Version != "" {
		if err := checkVersionLabel("version", opts.Version); err != nil {
			return nil, err
		}
	}
	d, err := DecodeFile(r, opts.Format)
	var problems []Problem
	var fields *FieldsError
	switch {
	case errors.As(err, &fields):
		// Report the fields the format refused with every other problem of the file.
		d, problems = fields.Partial, fields.Problems
	case err != nil:
		return nil, err
	}
	problems = append(problems, d.Validate()...)
	if opts.Questionnaire != "" && d.Code != opts.Questionnaire {
		problems = append([]Problem{{Path: "code", Message: fmt.Sprintf("is %q, but the import is into questionnaire %q", d.Code, opts.Questionnaire)}}, problems...)
	} else if d.Code != "" && !codeRe.MatchString(d.Code) {
		problems = append([]Problem{{Path: "code", Message: "a questionnaire code must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"}}, problems...)
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems, Unreadable: fields != nil}
	}
	code := d.Code
	_, err = s.store.Questionnaire(ctx, code)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	label := opts.Version
	switch {
	case label != "" && exists:
		if _, err := s.store.Version(ctx, code, label); err == nil {
			return nil, fmt.Errorf("%w: questionnaire %s already has a version %s", ErrConflict, code, label)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	case label == "" && exists:
		if label, err = s.label(ctx, code, ""); err != nil {
			return nil, err
		}
	case label == "":
		label = fmt.Sprintf("%d.1", s.clock().Year())
	}
	now := s.clock()
	if !exists {
		q := &Questionnaire{Code: code, Title: d.Title.In(d.DefaultLanguage, d.DefaultLanguage), Revision: 1,
			CreatedAt: now, CreatedBy: p.UserID, UpdatedAt: now, UpdatedBy: p.UserID}
		// Another import may have created it meanwhile; either way it exists now.
		if err := s.store.CreateQuestionnaire(ctx, q, ActionCreate); err != nil && !errors.Is(err, ErrConflict) {
			return nil, err
		}
	}
	v := &Version{
		Questionnaire: code, Version: label, Status: StatusDraft, Definition: d,
		Revision: 1, CreatedAt: now, CreatedBy: p.UserID, UpdatedAt: now, UpdatedBy: p.UserID,
	}
	if opts.Publish {
		// One change, so one audit event: the version is born published.
		v.Status, v.PublishedAt, v.PublishedBy = StatusPublished, now, p.UserID
	}
	if err := s.store.SaveVersion(ctx, nil, v, ActionImportVersion); err != nil {
		return nil, err
	}
	return v, nil
}

// Export writes a version's definition in format "yaml", "json" or "xlsx".
func (s *Service) Export(ctx context.Context, p auth.Principal, code, version, format string, w io.Writer) error {
	v, err := s.Version(ctx, p, code, version)
	if err != nil {
		return err
	}
	return EncodeFile(w, v.Definition, format)
}

// FileFormats are the formats DecodeFile and EncodeFile understand.
var FileFormats = []string{FormatYAML, FormatJSON, FormatXLSX}

// DecodeFile reads a definition in any supported file format: the YAML and JSON of
// DecodeDefinition, or a workbook (DecodeDefinitionXLSX, which also validates and names the
// sheet and row of each problem).
func DecodeFile(r io.Reader, format string) (*Definition, error) {
	if strings.EqualFold(format, FormatXLSX) {
		return DecodeDefinitionXLSX(r)
	}
	return DecodeDefinition(r, format)
}

// EncodeFile writes d in any supported file format.
func EncodeFile(w io.Writer, d *Definition, format string) error {
	if strings.EqualFold(format, FormatXLSX) {
		return EncodeDefinitionXLSX(w, d)
	}
	return EncodeDefinition(w, d, format)
}

// copyDefinition deep-copies d through its JSON form, the form the store keeps.
func copyDefinition(d *Definition) (*Definition, error) {
	if d == nil {
		return &Definition{}, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("%w: copying definition: %w", ErrInvalid, err)
	}
	cp := new(Definition)
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(cp); err != nil {
		return nil, fmt.Errorf("%w: copying definition: %w", ErrInvalid, err)
	}
	return cp, nil
}
