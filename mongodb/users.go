package mongodb

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
)

const (
	// colUsers holds one projection per user, keyed by user id, with the assignments inside so
	// that authenticating a request is one point read. The user's log (stream "user/<id>" in
	// events) is the record of every change.
	colUsers = "users"
	// colUserEmails claims each normalized email for one user, keyed by the email: the insert of
	// the claim is what makes two racing creations with one email have one winner.
	colUserEmails = "user_emails"
	// colUserLogins keeps the last login per user apart from the versioned projection, so that
	// logins do not race administrators' changes (updates are not atomic on the embedded store).
	colUserLogins = "user_logins"
)

// claimGrace is how old a claim on an email must be, with no user behind it, before it counts as
// left over from a creation that crashed between its two inserts, and may be taken over.
const claimGrace = time.Minute

type userDoc struct {
	ID                string          `bson:"_id"`
	Email             string          `bson:"email"`
	EmailKey          string          `bson:"email_key"`
	DisplayName       string          `bson:"display_name"`
	GlobalRole        string          `bson:"global_role"`
	Disabled          bool            `bson:"disabled"`
	Invited           bool            `bson:"invited"`
	PasswordHash      string          `bson:"password_hash"`
	SessionsNotBefore time.Time       `bson:"sessions_not_before"`
	Assignments       []assignmentDoc `bson:"assignments"`
	CreatedAt         time.Time       `bson:"created_at"`
	Version           int64           `bson:"version"`
}

type assignmentDoc struct {
	Role    string `bson:"role"`
	Round   string `bson:"round"`
	Country string `bson:"country,omitempty"`
}

type emailClaimDoc struct {
	ID     string    `bson:"_id"` // normalized email
	UserID string    `bson:"user_id"`
	At     time.Time `bson:"at"`
}

type loginDoc struct {
	ID string    `bson:"_id"` // user id
	At time.Time `bson:"at"`
}

func toUserDoc(u auth.StoredUser) userDoc {
	d := userDoc{
		ID: u.ID, Email: u.Email, EmailKey: u.EmailKey, DisplayName: u.DisplayName,
		GlobalRole: string(u.GlobalRole), Disabled: u.Disabled, Invited: u.Invited,
		PasswordHash: u.PasswordHash, SessionsNotBefore: u.SessionsNotBefore.UTC(),
		Assignments: make([]assignmentDoc, len(u.Assignments)),
		CreatedAt:   u.CreatedAt.UTC(), Version: u.Version,
	}
	for i, a := range u.Assignments {
		d.Assignments[i] = assignmentDoc{Role: string(a.Role), Round: a.Round, Country: a.Country}
	}
	return d
}

func fromUserDoc(d userDoc) auth.StoredUser {
	u := auth.StoredUser{
		User: auth.User{
			ID: d.ID, Email: d.Email, EmailKey: d.EmailKey, DisplayName: d.DisplayName,
			GlobalRole: auth.Role(d.GlobalRole), Disabled: d.Disabled, Invited: d.Invited,
			SessionsNotBefore: zeroIfEpochless(d.SessionsNotBefore),
			CreatedAt:         d.CreatedAt.UTC(), Version: d.Version,
		},
		PasswordHash: d.PasswordHash,
	}
	for _, a := range d.Assignments {
		u.Assignments = append(u.Assignments, auth.Assignment{Role: auth.Role(a.Role), Round: a.Round, Country: a.Country})
	}
	return u
}

// zeroIfEpochless turns a stored zero time back into time.Time{}: BSON keeps milliseconds since
// 1970, and the round trip of year 1 loses the zero value's identity.
func zeroIfEpochless(t time.Time) time.Time {
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

func userStream(id string) string { return "user/" + id }

// CreateUser implements auth.UserStore: claim the email, then append version 1 to the user's
// log (the audit event), then write the projection.
func (s *Store) CreateUser(ctx context.Context, u auth.StoredUser, ev audit.Event) error {
	if err := s.claimEmail(ctx, u.EmailKey, u.ID); err != nil {
		return err
	}
	won, err := s.appendEventWithState(ctx, userStream(u.ID), u.Version, ev, toUserDoc(u))
	if err != nil || !won {
		// Release the claim we just made, or the email would stay blocked by a user who never
		// existed.
		_, _ = s.db.Collection(colUserEmails).DeleteOne(ctx, byID(u.EmailKey))
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: user id %s is taken", auth.ErrConflict, u.ID)
	}
	return s.writeUser(ctx, u)
}

func (s *Store) claimEmail(ctx context.Context, emailKey, userID string) error {
	col := s.db.Collection(colUserEmails)
	// The claim's time is the server's clock, not the domain's: it is compared with
	// time.Since to tell a crashed creation from one in progress.
	claim := emailClaimDoc{ID: emailKey, UserID: userID, At: s.now().UTC()}
	for attempt := 0; ; attempt++ {
		_, err := col.InsertOne(ctx, claim)
		if err == nil {
			return nil
		}
		if !isDuplicateKey(err) {
			return fmt.Errorf("claim email: %w", err)
		}
		if attempt > 0 {
			return fmt.Errorf("%w: email is taken", auth.ErrConflict)
		}
		owner, abandoned, err := s.abandonedClaim(ctx, emailKey)
		if err != nil {
			return err
		}
		if !abandoned {
			return fmt.Errorf("%w: email is taken", auth.ErrConflict)
		}
		if owner == "" {
			continue // the claim went away meanwhile
		}
		// Delete by email and stale owner both, so that a fresh claim made meanwhile stays.
		if _, err := col.DeleteOne(ctx, bson.D{{Key: "_id", Value: emailKey}, {Key: "user_id", Value: owner}}); err != nil {
			return fmt.Errorf("release abandoned email claim: %w", err)
		}
	}
}

// abandonedClaim tells whether the claim on emailKey was left by a creation that crashed before
// writing its first event: no event behind it and older than claimGrace. It returns the owner
// named by the claim, empty when there is no claim any more.
func (s *Store) abandonedClaim(ctx context.Context, emailKey string) (string, bool, error) {
	var c emailClaimDoc
	err := s.db.Collection(colUserEmails).FindOne(ctx, byID(emailKey)).Decode(&c)
	if isNotFound(err) {
		return "", true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read email claim: %w", err)
	}
	if s.now().Sub(c.At) < claimGrace {
		return "", false, nil
	}
	if _, found, err := s.readEvent(ctx, userStream(c.UserID), 1); err != nil || found {
		return "", false, err
	}
	return c.UserID, true, nil
}

// SaveUser implements auth.UserStore. Winning position u.Version of the user's log is the
// change; the projection is written after, and only by that winner.
func (s *Store) SaveUser(ctx context.Context, u auth.StoredUser, ev audit.Event) error {
	won, err := s.appendEventWithState(ctx, userStream(u.ID), u.Version, ev, toUserDoc(u))
	if err != nil {
		return err
	}
	if !won {
		return fmt.Errorf("%w: user %s version %d was taken by another change", auth.ErrStale, u.ID, u.Version)
	}
	return s.writeUser(ctx, u)
}

func (s *Store) writeUser(ctx context.Context, u auth.StoredUser) error {
	s.userCache.put(toUserDoc(u), time.Now())
	_, err := s.db.Collection(colUsers).ReplaceOne(ctx, byID(u.ID), toUserDoc(u), options.Replace().SetUpsert(true))
	if isDuplicateKey(err) {
		// Two upserts of a projection not yet written both tried to insert it (the embedded
		// store's upserts are not atomic); one did, so it exists now: replace it. The versions
		// may land out of order either way; UserByID repairs a projection behind its log.
		_, err = s.db.Collection(colUsers).ReplaceOne(ctx, byID(u.ID), toUserDoc(u))
	}
	if err != nil {
		return fmt.Errorf("write user %s: %w", u.ID, err)
	}
	return nil
}

// UserByID implements auth.UserStore. Every request authenticates its user, so each instance
// keeps the users it has seen and trusts its copy for userFreshFor after reading it: within
// that time a request costs no store read for its user, and a change made on another instance
// (a user disabled, an assignment revoked, a session ended) takes effect here within it. A
// change made on this instance takes effect at once. Past that time the copy is brought up to
// date by probing the log position after it (one point read); without a copy, the projection
// is read too. A projection behind its log (a writer stopped between its two writes, or two
// projection writes landed out of order) is rebuilt from the newest entry's state and stored
// again; without that, the user could never be changed again, every change colliding with the
// entry the projection does not know.
func (s *Store) UserByID(ctx context.Context, id string) (auth.StoredUser, error) {
	d, checked, cached := s.userCache.get(id)
	if cached && time.Since(checked) < userFreshFor {
		return fromUserDoc(d), nil
	}
	start := time.Now()
	if !cached {
		err := s.db.Collection(colUsers).FindOne(ctx, byID(id)).Decode(&d)
		if err != nil && !isNotFound(err) {
			return auth.StoredUser{}, fmt.Errorf("read user %s: %w", id, err)
		}
	}
	behind := false
	for {
		var entry struct {
			State *userDoc `bson:"state"`
		}
		err := s.db.Collection(colEvents).FindOne(ctx, byID(eventID(userStream(id), d.Version+1))).Decode(&entry)
		if isNotFound(err) {
			break
		}
		if err != nil {
			return auth.StoredUser{}, fmt.Errorf("read user %s log: %w", id, err)
		}
		if entry.State == nil {
			return auth.StoredUser{}, fmt.Errorf("user %s log entry %d has no state", id, d.Version+1)
		}
		d, behind = *entry.State, true
	}
	if d.Version == 0 {
		return auth.StoredUser{}, fmt.Errorf("%w: user %s", auth.ErrNotFound, id)
	}
	s.userCache.put(d, start)
	u := fromUserDoc(d)
	if behind && !cached {
		if err := s.writeUser(ctx, u); err != nil {
			s.logger.Warn("user projection not repaired; the next reader repairs it", "user", id, "err", err)
		}
	}
	return u, nil
}

// userFreshFor is how long an instance trusts its copy of a user without looking at the log.
// It is measured on the monotonic clock, not the store's clock: it is about this process's
// copy, not about any recorded time.
const userFreshFor = time.Second

// userCache keeps the users this instance has seen, the least recently used out first.
type userCache struct {
	mu  sync.Mutex
	lru *simplelru.LRU[string, cachedUser]
}

type cachedUser struct {
	doc     userDoc
	checked time.Time
}

// maxCachedUsers bounds the user cache: a user's state is a few hundred bytes, and a V-Dem-sized
// index has a few thousand experts.
const maxCachedUsers = 20000

func newUserCache() *userCache {
	l, _ := simplelru.NewLRU[string, cachedUser](maxCachedUsers, nil)
	return &userCache{lru: l}
}

func (c *userCache) get(id string) (userDoc, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(id)
	return e.doc, e.checked, ok
}

// put keeps d, read or written at checked, unless a newer version is cached.
func (c *userCache) put(d userDoc, checked time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.lru.Peek(d.ID); ok && old.doc.Version > d.Version {
		return
	}
	c.lru.Add(d.ID, cachedUser{doc: d, checked: checked})
}

// UserByEmail implements auth.UserStore with two point reads: the claim, then the user.
func (s *Store) UserByEmail(ctx context.Context, emailKey string) (auth.StoredUser, error) {
	var c emailClaimDoc
	err := s.db.Collection(colUserEmails).FindOne(ctx, byID(emailKey)).Decode(&c)
	if isNotFound(err) {
		return auth.StoredUser{}, fmt.Errorf("%w: no user with that email", auth.ErrNotFound)
	}
	if err != nil {
		return auth.StoredUser{}, fmt.Errorf("read email claim: %w", err)
	}
	return s.UserByID(ctx, c.UserID)
}

// ListUsers implements auth.UserStore. It is an administrator's page, not a hot path, so the
// range filter on _id (a scan on the embedded store) is acceptable.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]auth.StoredUser, error) {
	filter := bson.D{}
	if after != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := findAll[userDoc](ctx, s.db.Collection(colUsers), filter, "list users", opts)
	if err != nil {
		return nil, err
	}
	out := make([]auth.StoredUser, len(docs))
	for i, d := range docs {
		out[i] = fromUserDoc(d)
	}
	return out, nil
}

// RecordLogin implements auth.UserStore; the last writer wins, which is right for a timestamp.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	_, err := s.db.Collection(colUserLogins).ReplaceOne(ctx, byID(userID), loginDoc{ID: userID, At: at.UTC()}, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	return nil
}

// LastLogins implements auth.UserStore.
func (s *Store) LastLogins(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	filter := byID(ids[0]) // the common case, served from the index on the embedded store
	if len(ids) > 1 {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	}
	docs, err := findAll[loginDoc](ctx, s.db.Collection(colUserLogins), filter, "read last logins")
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		out[d.ID] = d.At.UTC()
	}
	return out, nil
}
