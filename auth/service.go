package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
)

// Config wires a Service. Zero durations take the defaults.
type Config struct {
	Store  Store
	Tokens *Tokens
	Hasher *Hasher
	// RefreshTTL is how long an unused refresh token lives; each rotation starts it again.
	RefreshTTL    time.Duration
	InvitationTTL time.Duration
	ResetTTL      time.Duration
	Lockout       LockoutPolicy
	Now           func() time.Time
	// Targets, when set, refuses assignments to rounds and countries that do not exist.
	Targets Targets
	// Notifier, when set, delivers invitation and reset tokens to their users.
	Notifier Notifier
}

// Defaults of Config.
const (
	DefaultRefreshTTL    = 30 * 24 * time.Hour
	DefaultInvitationTTL = 7 * 24 * time.Hour
	DefaultResetTTL      = 24 * time.Hour
)

// Service is the identity and access use cases: login and sessions, authentication of
// requests, and the administration of users and their assignments.
type Service struct {
	store      Store
	tokens     *Tokens
	hasher     *Hasher
	refreshTTL time.Duration
	inviteTTL  time.Duration
	resetTTL   time.Duration
	lockout    LockoutPolicy
	now        func() time.Time
	targets    Targets
	notifier   Notifier
	// dummyHash is verified when the email is unknown, so that a wrong email costs the same
	// time as a wrong password and response times do not tell which emails exist.
	dummyHash string
}

// NewService checks cfg and returns a Service; it hashes once, to prepare the dummy hash.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Hasher == nil {
		return nil, fmt.Errorf("%w: store, tokens and hasher are required", ErrInvalid)
	}
	s := &Service{
		store: cfg.Store, tokens: cfg.Tokens, hasher: cfg.Hasher,
		refreshTTL: orDefault(cfg.RefreshTTL, DefaultRefreshTTL),
		inviteTTL:  orDefault(cfg.InvitationTTL, DefaultInvitationTTL),
		resetTTL:   orDefault(cfg.ResetTTL, DefaultResetTTL),
		lockout:    cfg.Lockout,
		now:        cfg.Now,
		targets:    cfg.Targets,
		notifier:   cfg.Notifier,
	}
	if s.lockout.Window <= 0 {
		s.lockout.Window = DefaultLockout.Window
	}
	if s.lockout.MaxPerAccount <= 0 {
		s.lockout.MaxPerAccount = DefaultLockout.MaxPerAccount
	}
	if s.lockout.MaxPerAddress <= 0 {
		s.lockout.MaxPerAddress = DefaultLockout.MaxPerAddress
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.dummyHash, err = s.hasher.Hash(context.Background(), "dummy password for unknown emails"); err != nil {
		return nil, err
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Session is what a login or a refresh hands to the client. The refresh token exists only here:
// the store keeps its hash.
type Session struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	User             User
}

var errBadCredentials = fmt.Errorf("%w: invalid email or password", ErrUnauthorized)

// Login checks email and password and starts a session. Failures answer ErrUnauthorized, or a
// *LockedError once the account or clientAddr has failed too often; both answers are the same
// whether or not the email exists.
func (s *Service) Login(ctx context.Context, email, password, clientAddr string) (Session, error) {
	now := s.now().UTC()
	emailKey := NormalizeEmail(email)
	wait, err := s.lockedFor(ctx, emailKey, clientAddr, now)
	if err != nil {
		return Session{}, err
	}
	if wait > 0 {
		return Session{}, &LockedError{RetryAfter: wait}
	}
	fail := func() (Session, error) {
		wait, err := s.recordFailure(ctx, emailKey, clientAddr, now)
		if err != nil {
			return Session{}, err
		}
		if wait > 0 {
			return Session{}, &LockedError{RetryAfter: wait}
		}
		return Session{}, errBadCredentials
	}
	if emailKey == "" || len(password) > maxPasswordBytes {
		return fail()
	}
	su, err := s.store.UserByEmail(ctx, emailKey)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, err
	}
	hash := su.PasswordHash
	if hash == "" { // unknown email, or an invitation not yet accepted
		hash = s.dummyHash
	}
	ok, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return Session{}, fmt.Errorf("auth: verify password of %s: %w", su.ID, err)
	}
	if !ok || su.PasswordHash == "" {
		return fail()
	}
	if su.Disabled {
		// The same answer as a wrong password: telling a disabled account apart would confirm
		// both that the account exists and that the password was right.
		return fail()
	}
	if s.hasher.NeedsRehash(su.PasswordHash) {
		s.rehash(ctx, su.ID, password)
	}
	if err := s.store.RecordLogin(ctx, su.ID, now); err != nil {
		return Session{}, err
	}
	su.LastLoginAt = now
	return s.startSession(ctx, su.User, now, newFamily(), now)
}

// rehash upgrades a hash made with older costs. It is best effort: a concurrent change of the
// user wins, and the next login tries again.
func (s *Service) rehash(ctx context.Context, userID, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return
	}
	_, _ = s.update(withActor(ctx, userID), userID, 0, "user.password_rehash", func(su *StoredUser) error {
		su.PasswordHash = hash
		return nil
	})
}

func (s *Service) startSession(ctx context.Context, u User, sessionStart time.Time, family string, now time.Time) (Session, error) {
	refresh, rec := newOpaqueToken(TokenRefresh, u.ID, now, s.refreshTTL)
	rec.Family, rec.SessionStart = family, sessionStart
	if err := s.store.SaveToken(ctx, rec); err != nil {
		return Session{}, err
	}
	access, exp, err := s.tokens.Issue(u.ID)
	if err != nil {
		return Session{}, err
	}
	return Session{AccessToken: access, AccessExpiresAt: exp, RefreshToken: refresh, RefreshExpiresAt: rec.ExpiresAt, User: u}, nil
}

// Refresh exchanges a refresh token for a new session of the same family; the old token stops
// working. Presenting a token that was already exchanged means it was copied: the whole family
// is revoked, ending the session for the thief and the user alike (OAuth 2.0 Security BCP,
// refresh token rotation).
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	now := s.now().UTC()
	hash := hashToken(refreshToken)
	rec, err := s.validToken(ctx, hash, now, TokenRefresh)
	if err != nil {
		return Session{}, err
	}
	// Consuming is an insert under the token's hash: of racing refreshes exactly one wins;
	// every other is a reuse.
	first, err := s.store.ConsumeToken(ctx, hash, now)
	if err != nil {
		return Session{}, err
	}
	if !first {
		if err := s.store.RevokeFamily(ctx, rec.Family, now); err != nil {
			return Session{}, err
		}
		return Session{}, fmt.Errorf("%w: refresh token reused; session revoked", ErrUnauthorized)
	}
	su, err := s.activeUser(ctx, rec.UserID)
	if err != nil {
		return Session{}, err
	}
	if rec.SessionStart.Before(su.SessionsNotBefore) {
		return Session{}, fmt.Errorf("%w: session ended by a password change or disabling", ErrUnauthorized)
	}
	return s.startSession(ctx, su.User, rec.SessionStart, rec.Family, now)
}

// Logout ends the session of refreshToken and every access token the user holds: it revokes the
// refresh family and moves the user's SessionsNotBefore to now, which Authenticate and Refresh
// check, so that a copied access token stops working at once rather than when it expires. That
// signs the user out on every device. An unknown token is not an error: logging out twice is
// harmless.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	rec, err := s.store.TokenByHash(ctx, hashToken(refreshToken))
	if errors.Is(err, ErrNotFound) || (err == nil && rec.Kind != TokenRefresh) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.store.RevokeFamily(ctx, rec.Family, now); err != nil {
		return err
	}
	_, err = s.update(withActor(ctx, rec.UserID), rec.UserID, 0, "user.logout", func(su *StoredUser) error {
		if !su.SessionsNotBefore.Before(now) {
			return errUnchanged
		}
		su.SessionsNotBefore = now
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil // the user is gone; nothing is left to sign out
	}
	return err
}

// validToken reads the record of a one-time token and checks its kind, family and expiry; it
// does not consume it.
func (s *Service) validToken(ctx context.Context, hash string, now time.Time, kinds ...TokenKind) (TokenRecord, error) {
	rec, err := s.store.TokenByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return TokenRecord{}, fmt.Errorf("%w: unknown token", ErrUnauthorized)
	}
	if err != nil {
		return TokenRecord{}, err
	}
	if !slices.Contains(kinds, rec.Kind) {
		return TokenRecord{}, fmt.Errorf("%w: a %s token cannot be used here", ErrUnauthorized, rec.Kind)
	}
	if !now.Before(rec.ExpiresAt) {
		return TokenRecord{}, fmt.Errorf("%w: %s token expired", ErrUnauthorized, rec.Kind)
	}
	if rec.Family != "" {
		revoked, err := s.store.FamilyRevoked(ctx, rec.Family)
		if err != nil {
			return TokenRecord{}, err
		}
		if revoked {
			return TokenRecord{}, fmt.Errorf("%w: session revoked", ErrUnauthorized)
		}
	}
	return rec, nil
}

// Authenticate verifies an access token and returns its principal, with the user's current
// assignments: one point read, so a disabled user or a revoked assignment takes effect at once.
//
// A token issued before the user's SessionsNotBefore (set by a sign-out, a password change or
// reset, disabling) is refused: the user's record is the one place that ends every access token
// already issued, on every instance, without a denylist. An instance trusts its copy of a user
// for up to a second (see the store), so another instance refuses such a token within that.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	userID, issued, err := s.tokens.VerifyIssued(accessToken)
	if err != nil {
		return Principal{}, err
	}
	su, err := s.activeUser(ctx, userID)
	if err != nil {
		return Principal{}, err
	}
	if issued.Before(su.SessionsNotBefore.Truncate(time.Millisecond)) {
		return Principal{}, fmt.Errorf("%w: access token issued before the user signed out or changed password", ErrUnauthorized)
	}
	return su.Principal(), nil
}

func (s *Service) activeUser(ctx context.Context, id string) (StoredUser, error) {
	su, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return StoredUser{}, fmt.Errorf("%w: unknown user", ErrUnauthorized)
	}
	if err != nil {
		return StoredUser{}, err
	}
	if su.Disabled {
		return StoredUser{}, fmt.Errorf("%w: user is disabled", ErrUnauthorized)
	}
	return su, nil
}

// Me returns the principal's own user.
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	if p.UserID == "" || p.Disabled {
		return User{}, fmt.Errorf("%w: no active user", ErrUnauthorized)
	}
	return s.getUser(ctx, p.UserID)
}

// GetUser returns a user to an admin, or to the user themselves.
func (s *Service) GetUser(ctx context.Context, p Principal, id string) (User, error) {
	if p.UserID != id || p.Disabled {
		if err := p.Can(ManageUsers, Scope{}); err != nil {
			return User{}, err
		}
	}
	return s.getUser(ctx, id)
}

func (s *Service) getUser(ctx context.Context, id string) (User, error) {
	su, err := s.store.UserByID(ctx, id)
	if err != nil {
		return User{}, err
	}
	logins, err := s.store.LastLogins(ctx, []string{id})
	if err != nil {
		return User{}, err
	}
	su.LastLoginAt = logins[id]
	return su.User, nil
}

// UserPage is one page of ListUsers; Next is the cursor of the next page, empty after the last.
type UserPage struct {
	Users []User
	Next  string
}

// MaxPageSize bounds a page of ListUsers.
const MaxPageSize = 200

// ListUsers lists users by id, after the cursor after; limit defaults to 50.
func (s *Service) ListUsers(ctx context.Context, p Principal, after string, limit int) (UserPage, error) {
	if err := p.Can(ManageUsers, Scope{}); err != nil {
		return UserPage{}, err
	}
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxPageSize)
	// One more than asked tells whether another page exists without a count.
	stored, err := s.store.ListUsers(ctx, after, limit+1)
	if err != nil {
		return UserPage{}, err
	}
	var page UserPage
	if len(stored) > limit {
		stored = stored[:limit]
		page.Next = stored[limit-1].ID
	}
	ids := make([]string, len(stored))
	for i, su := range stored {
		ids[i] = su.ID
	}
	logins, err := s.store.LastLogins(ctx, ids)
	if err != nil {
		return UserPage{}, err
	}
	page.Users = make([]User, len(stored))
	for i, su := range stored {
		su.LastLoginAt = logins[su.ID]
		page.Users[i] = su.User
	}
	return page, nil
}

// CreateUser creates a user for an admin. Without a password the user is invited: the returned
// token (valid InvitationTTL, usable once) lets them set one with AcceptInvitation; it is
// returned only here.
func (s *Service) CreateUser(ctx context.Context, p Principal, nu NewUser) (User, string, error) {
	if err := p.Can(ManageUsers, Scope{}); err != nil {
		return User{}, "", err
	}
	return s.createUser(withActor(ctx, p.UserID), nu)
}

// BootstrapUser creates a user on behalf of the system, without a policy check: the command
// line (`expertsurvey user add`) calls it to create the first admin, and whoever runs it already
// holds the database.
func (s *Service) BootstrapUser(ctx context.Context, nu NewUser) (User, string, error) {
	return s.createUser(withActor(ctx, audit.SystemActor), nu)
}

func (s *Service) createUser(ctx context.Context, nu NewUser) (User, string, error) {
	fe := validateNewUser(nu)
	if nu.Password != "" {
		if err := CheckPassword(nu.Password, nu.Email); err != nil {
			fe = append(fe, err.(FieldErrors)...)
		}
	}
	var assignments []Assignment
	for _, a := range nu.Assignments {
		if afe := validateAssignment(a); len(afe) > 0 {
			fe = append(fe, afe...)
			continue
		}
		if slices.Contains(assignments, a) {
			continue
		}
		if err := checkSelfReview(assignments, a); err != nil {
			return User{}, "", err
		}
		assignments = append(assignments, a)
	}
	if err := fe.orNil(); err != nil {
		return User{}, "", err
	}
	for i, a := range assignments {
		checked, err := s.CheckTarget(ctx, a)
		if err != nil {
			return User{}, "", err
		}
		assignments[i] = checked
	}
	sortAssignments(assignments)
	now := s.now().UTC()
	su := StoredUser{User: User{
		ID:          newUserID(),
		Email:       strings.TrimSpace(nu.Email),
		EmailKey:    NormalizeEmail(nu.Email),
		DisplayName: strings.TrimSpace(nu.DisplayName),
		GlobalRole:  nu.GlobalRole,
		Invited:     nu.Password == "",
		Assignments: assignments,
		CreatedAt:   now,
		Version:     1,
	}}
	if nu.Password != "" {
		hash, err := s.hasher.Hash(ctx, nu.Password)
		if err != nil {
			return User{}, "", err
		}
		su.PasswordHash = hash
	}
	ev, err := audit.New(ctx, "user.create", userEntity(su.ID), nil, su.User, now)
	if err != nil {
		return User{}, "", err
	}
	if err := s.store.CreateUser(ctx, su, ev); err != nil {
		return User{}, "", err
	}
	if !su.Invited {
		return su.User, "", nil
	}
	token, rec := newOpaqueToken(TokenInvitation, su.ID, now, s.inviteTTL)
	if err := s.store.SaveToken(ctx, rec); err != nil {
		return User{}, "", err
	}
	s.notifyInvitation(ctx, su.User, rec, token)
	return su.User, token, nil
}

// AcceptInvitation sets the password of an invited user, or of a user an admin sent a reset
// token, and consumes the token. The password is checked before the token is consumed, so a
// refused password does not waste the invitation.
func (s *Service) AcceptInvitation(ctx context.Context, token, password string) (User, error) {
	now := s.now().UTC()
	hash := hashToken(token)
	rec, err := s.validToken(ctx, hash, now, TokenInvitation, TokenReset)
	if err != nil {
		return User{}, err
	}
	su, err := s.activeUser(ctx, rec.UserID)
	if err != nil {
		return User{}, err
	}
	if err := CheckPassword(password, su.Email); err != nil {
		return User{}, err
	}
	pwHash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	first, err := s.store.ConsumeToken(ctx, hash, now)
	if err != nil {
		return User{}, err
	}
	if !first {
		return User{}, fmt.Errorf("%w: token already used", ErrUnauthorized)
	}
	return s.update(withActor(ctx, su.ID), su.ID, 0, "user.password_set", func(su *StoredUser) error {
		su.PasswordHash, su.Invited, su.SessionsNotBefore = pwHash, false, now
		return nil
	})
}

// DisableUser stops a user: Authenticate and Refresh refuse them at once, and their sessions
// stay ended when they are enabled again. ifVersion, when not zero, is the version the caller
// saw (If-Match); a newer one answers ErrStale.
func (s *Service) DisableUser(ctx context.Context, p Principal, id string, ifVersion int64) (User, error) {
	if err := p.Can(ManageUsers, Scope{}); err != nil {
		return User{}, err
	}
	if id == p.UserID {
		// The last admin disabling themselves would leave nobody to undo it.
		return User{}, fmt.Errorf("%w: users cannot disable themselves", ErrConflict)
	}
	return s.update(withActor(ctx, p.UserID), id, ifVersion, "user.disable", func(su *StoredUser) error {
		if su.Disabled {
			return errUnchanged
		}
		su.Disabled, su.SessionsNotBefore = true, s.now().UTC()
		return nil
	})
}

// EnableUser undoes DisableUser.
func (s *Service) EnableUser(ctx context.Context, p Principal, id string, ifVersion int64) (User, error) {
	if err := p.Can(ManageUsers, Scope{}); err != nil {
		return User{}, err
	}
	return s.update(withActor(ctx, p.UserID), id, ifVersion, "user.enable", func(su *StoredUser) error {
		if !su.Disabled {
			return errUnchanged
		}
		su.Disabled = false
		return nil
	})
}

// ResetPassword lets an admin set a user's password, ending their sessions, or, with an empty
// newPassword, issue a one-time reset token (valid ResetTTL) for AcceptInvitation, returned
// only here.
func (s *Service) ResetPassword(ctx context.Context, p Principal, id, newPassword string, ifVersion int64) (User, string, error) {
	if err := p.Can(ManageUsers, Scope{}); err != nil {
		return User{}, "", err
	}
	ctx = withActor(ctx, p.UserID)
	now := s.now().UTC()
	if newPassword == "" {
		token, rec := newOpaqueToken(TokenReset, id, now, s.resetTTL)
		u, err := s.update(ctx, id, ifVersion, "user.password_reset_issue", func(*StoredUser) error { return nil })
		if err != nil {
			return User{}, "", err
		}
		if err := s.store.SaveToken(ctx, rec); err != nil {
			return User{}, "", err
		}
		s.notifyReset(ctx, u, rec, token)
		return u, token, nil
	}
	target, err := s.store.UserByID(ctx, id)
	if err != nil {
		return User{}, "", err
	}
	if err := CheckPassword(newPassword, target.Email); err != nil {
		return User{}, "", err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return User{}, "", err
	}
	u, err := s.update(ctx, id, ifVersion, "user.password_reset", func(su *StoredUser) error {
		su.PasswordHash, su.Invited, su.SessionsNotBefore = hash, false, now
		return nil
	})
	return u, "", err
}

// Grant gives a user an assignment. A user cannot be both expert and reviewer of one country in
// one round: they would review their own sheet.
func (s *Service) Grant(ctx context.Context, p Principal, userID string, a Assignment, ifVersion int64) (User, error) {
	if err := p.Can(ManageAssignments, Scope{}); err != nil {
		return User{}, err
	}
	if err := validateAssignment(a).orNil(); err != nil {
		return User{}, err
	}
	a, err := s.CheckTarget(ctx, a)
	if err != nil {
		return User{}, err
	}
	return s.update(withActor(ctx, p.UserID), userID, ifVersion, "assignment.grant", func(su *StoredUser) error {
		if slices.Contains(su.Assignments, a) {
			return errUnchanged
		}
		if err := checkSelfReview(su.Assignments, a); err != nil {
			return err
		}
		su.Assignments = append(su.Assignments, a)
		sortAssignments(su.Assignments)
		return nil
	})
}

// checkSelfReview refuses a when held with as would make a user expert and reviewer of one
// country in one round: they would review their own sheet.
func checkSelfReview(as []Assignment, a Assignment) error {
	other := map[Role]Role{RoleExpert: RoleReviewer, RoleReviewer: RoleExpert}[a.Role]
	if other != "" && slices.Contains(as, Assignment{Role: other, Round: a.Round, Country: a.Country}) {
		return fmt.Errorf("%w: user is already %s of %s/%s", ErrConflict, other, a.Round, a.Country)
	}
	return nil
}

// Revoke removes an assignment; ErrNotFound when the user does not hold it.
func (s *Service) Revoke(ctx context.Context, p Principal, userID string, a Assignment, ifVersion int64) (User, error) {
	if err := p.Can(ManageAssignments, Scope{}); err != nil {
		return User{}, err
	}
	return s.update(withActor(ctx, p.UserID), userID, ifVersion, "assignment.revoke", func(su *StoredUser) error {
		i := slices.Index(su.Assignments, a)
		if i < 0 {
			return fmt.Errorf("%w: user has no such assignment", ErrNotFound)
		}
		su.Assignments = slices.Delete(su.Assignments, i, i+1)
		return nil
	})
}

// ListAssignments returns a user's assignments, to an admin or to the user themselves.
func (s *Service) ListAssignments(ctx context.Context, p Principal, userID string) ([]Assignment, error) {
	if p.UserID != userID || p.Disabled {
		if err := p.Can(ManageAssignments, Scope{}); err != nil {
			return nil, err
		}
	}
	su, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	return su.Assignments, nil
}

// errUnchanged tells update that the change is already in place: no new version, no event.
var errUnchanged = errors.New("unchanged")

// maxUpdateAttempts bounds retries after losing a race to another change of the same user.
const maxUpdateAttempts = 10

// update applies change to user id as one new version with one audit event (action). With
// ifVersion zero a lost race is retried on the fresh version, since the caller stated no
// precondition; otherwise it answers ErrStale.
func (s *Service) update(ctx context.Context, id string, ifVersion int64, action string, change func(*StoredUser) error) (User, error) {
	for attempt := 1; ; attempt++ {
		cur, err := s.store.UserByID(ctx, id)
		if err != nil {
			return User{}, err
		}
		if ifVersion != 0 && cur.Version != ifVersion {
			return User{}, fmt.Errorf("%w: user %s is at version %d, not %d", ErrStale, id, cur.Version, ifVersion)
		}
		next := cur
		next.Assignments = slices.Clone(cur.Assignments)
		if err := change(&next); errors.Is(err, errUnchanged) {
			return cur.User, nil
		} else if err != nil {
			return User{}, err
		}
		next.Version = cur.Version + 1
		ev, err := audit.New(ctx, action, userEntity(id), cur.User, next.User, s.now())
		if err != nil {
			return User{}, err
		}
		err = s.store.SaveUser(ctx, next, ev)
		if errors.Is(err, ErrStale) && ifVersion == 0 && attempt < maxUpdateAttempts {
			// The winner writes its projection just after its event; rereading at once would
			// likely see the old version again.
			if err := sleep(ctx, retryDelay(attempt)); err != nil {
				return User{}, err
			}
			continue
		}
		if err != nil {
			return User{}, err
		}
		return next.User, nil
	}
}

// retryDelay grows with the attempt and is jittered, so that racing writers spread out.
func retryDelay(attempt int) time.Duration {
	base := time.Duration(attempt) * 5 * time.Millisecond
	return base + time.Duration(mrand.Int64N(int64(base)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func userEntity(id string) string { return "user/" + id }

func sortAssignments(as []Assignment) {
	slices.SortFunc(as, func(a, b Assignment) int {
		return strings.Compare(string(a.Role)+"\x00"+a.Round+"\x00"+a.Country, string(b.Role)+"\x00"+b.Round+"\x00"+b.Country)
	})
}

// withActor makes actor the author of the audit events written under ctx, keeping the request
// id the API layer recorded.
func withActor(ctx context.Context, actor string) context.Context {
	_, requestID := audit.Origin(ctx)
	return audit.WithOrigin(ctx, actor, requestID)
}

// newOpaqueToken returns a random 256-bit token and the record that stores only its hash.
func newOpaqueToken(kind TokenKind, userID string, now time.Time, ttl time.Duration) (string, TokenRecord) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, TokenRecord{
		Hash: hashToken(token), Kind: kind, UserID: userID,
		IssuedAt: now, ExpiresAt: now.Add(ttl),
	}
}

// hashToken is SHA-256: the tokens carry 256 random bits, so a fast hash is enough and no
// salt is needed (unlike passwords, they cannot be guessed from a dictionary).
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newFamily() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "f_" + hex.EncodeToString(b)
}
