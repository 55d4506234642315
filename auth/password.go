package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id costs. Memory is in KiB.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

// MinParams is OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane). A Hasher refuses to
// hash below it; hashes stored with lower costs still verify and are re-hashed at next login.
var MinParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// maxParams bounds what Verify accepts from a stored hash, so that one corrupt or hostile
// record cannot make a login allocate gigabytes.
var maxParams = Params{Memory: 1024 * 1024, Time: 16, Threads: 16}

const (
	saltLen = 16
	keyLen  = 32
	// MinPasswordLength is counted in characters, not bytes.
	MinPasswordLength = 12
	// maxPasswordBytes refuses megabyte "passwords" sent to burn hashing time.
	maxPasswordBytes = 1024
)

var errBadHash = errors.New("auth: malformed password hash")

// Hasher hashes and verifies passwords with argon2id. Each hash holds Memory KiB for its
// duration, so a semaphore bounds how many run at once: a burst of logins queues instead of
// exhausting memory.
type Hasher struct {
	params Params
	slots  chan struct{}
	// The counts behind Stats.
	derivations, running, peak atomic.Int64
}

// HashStats counts a hasher's work: derivations finished or under way, how many run now, and
// the most that ever ran at once (never above the concurrency bound).
type HashStats struct{ Derivations, Running, Peak int64 }

// Stats reports the hasher's counts, for monitoring and for the tests that prove that an
// unknown email costs a hash like a known one and that parallel logins stay within the bound.
func (h *Hasher) Stats() HashStats {
	return HashStats{Derivations: h.derivations.Load(), Running: h.running.Load(), Peak: h.peak.Load()}
}

// NewHasher returns a hasher with params, refusing costs below MinParams. concurrency bounds
// simultaneous hashes; zero or less means 2 x GOMAXPROCS.
func NewHasher(params Params, concurrency int) (*Hasher, error) {
	if params.Memory < MinParams.Memory || params.Time < MinParams.Time || params.Threads < MinParams.Threads {
		return nil, fmt.Errorf("%w: argon2id parameters %+v are below the minimum %+v", ErrInvalid, params, MinParams)
	}
	if params.Memory > maxParams.Memory || params.Time > maxParams.Time || params.Threads > maxParams.Threads {
		return nil, fmt.Errorf("%w: argon2id parameters %+v are above the maximum %+v", ErrInvalid, params, maxParams)
	}
	if concurrency <= 0 {
		concurrency = 2 * runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: params, slots: make(chan struct{}, concurrency)}, nil
}

// Hash returns the PHC string of password: $argon2id$v=19$m=...,t=...,p=...$salt$hash, so that
// the costs travel with the hash and can be raised later.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	key, err := h.derive(ctx, password, salt, h.params, keyLen)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify tells whether password matches encoded, comparing in constant time.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash tells whether encoded was made with costs other than the hasher's, so that a
// successful login can upgrade it.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decodeHash(encoded)
	return err != nil || p != h.params
}

func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params, n uint32) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("auth: waiting to hash: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	h.derivations.Add(1)
	now := h.running.Add(1)
	defer h.running.Add(-1)
	for top := h.peak.Load(); now > top && !h.peak.CompareAndSwap(top, now); top = h.peak.Load() {
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, n), nil
}

func decodeHash(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, errBadHash
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 ||
		p.Memory > maxParams.Memory || p.Time > maxParams.Time || p.Threads > maxParams.Threads {
		return Params{}, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, errBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords holds the lower-cased entries of common_passwords.txt.
var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{})
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = struct{}{}
		}
	}
	return m
}()

// CheckPassword applies the password rules (NIST SP 800-63B style: length and a blocklist, no
// composition rules): at least MinPasswordLength characters, not a well-known common password,
// and not the local part of the user's own email.
func CheckPassword(password, email string) error {
	var fe FieldErrors
	lower := strings.ToLower(password)
	local, _, _ := strings.Cut(NormalizeEmail(email), "@")
	switch {
	case len(password) > maxPasswordBytes:
		fe = append(fe, FieldError{"password", fmt.Sprintf("is longer than %d bytes", maxPasswordBytes)})
	case utf8.RuneCountInString(password) < MinPasswordLength:
		fe = append(fe, FieldError{"password", fmt.Sprintf("must have at least %d characters", MinPasswordLength)})
	case isCommonPassword(lower):
		fe = append(fe, FieldError{"password", "is too common"})
	case local != "" && (lower == local || lower == NormalizeEmail(email)):
		fe = append(fe, FieldError{"password", "must not be the email address"})
	}
	return fe.orNil()
}

func isCommonPassword(lower string) bool {
	if _, ok := commonPasswords[lower]; ok {
		return true
	}
	// One character repeated ("aaaaaaaaaaaa") is as weak as any list entry.
	r, _ := utf8.DecodeRuneInString(lower)
	return strings.Count(lower, string(r)) == utf8.RuneCountInString(lower)
}
