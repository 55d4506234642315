package questionnaire

import "context"

// Store keeps questionnaires and their versions. Each is a log of revisions plus a projection of
// the newest: storing revision n is the insert of log entry n under a unique key, so of two
// writers who read revision n-1 exactly one lands and the other is told ErrStale. That is the
// whole concurrency guarantee; it holds across service instances and on a store whose updates
// are not atomic (the embedded FerretDB; docs/data-model.md, "How writes work"). Each log entry is the audit event
// of its change, with the actor and request id taken from the context (package audit).
//
// mongodb.Store implements it.
type Store interface {
	// CreateQuestionnaire stores q at revision 1; ErrConflict when the code is taken.
	CreateQuestionnaire(ctx context.Context, q *Questionnaire, action string) error
	// Questionnaire returns the newest revision of a questionnaire, or ErrNotFound.
	Questionnaire(ctx context.Context, code string) (*Questionnaire, error)
	// Questionnaires lists every questionnaire by code. An index has a handful, so there is no
	// paging.
	Questionnaires(ctx context.Context) ([]Questionnaire, error)

	// Version returns the newest revision of a version, definition included, or ErrNotFound.
	Version(ctx context.Context, code, version string) (*Version, error)
	// Versions lists the versions of a questionnaire by version label, with Definition nil:
	// a listing never needs the (possibly large) instruments.
	Versions(ctx context.Context, code string) ([]Version, error)
	// SaveVersion writes v as revision v.Revision, recording action and the replaced revision
	// (nil for a new version). It reports ErrStale when that revision exists already, and
	// ErrConflict for a new version whose label is taken.
	SaveVersion(ctx context.Context, before, v *Version, action string) error
}
