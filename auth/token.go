package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinKeyBytes is the shortest HMAC key accepted: HS256 needs a key as long as its output
// (RFC 7518, section 3.2).
const MinKeyBytes = 32

// DefaultAccessTTL keeps access tokens short-lived: they cannot be revoked, so disabling a user
// takes effect within this time for a client that skips Authenticate's user check.
const DefaultAccessTTL = 15 * time.Minute

// signingMethod is the one algorithm tokens are signed and verified with (RFC 8725, 2.1 and
// 3.1): the header's alg never chooses.
var signingMethod = jwt.SigningMethodHS256

// Key is one HMAC key and the id that names it in token headers.
type Key struct {
	ID     string
	Secret []byte
}

// KeySet holds the key that signs new tokens and older keys that still verify, so that keys can
// be rotated without logging everyone out: add a new first key, wait one access TTL, remove the
// old one.
type KeySet struct {
	signing Key
	byID    map[string][]byte
}

// NewKeySet returns a set that signs with signing and verifies with it and older. Every key must
// have a distinct, non-empty id and at least MinKeyBytes bytes.
func NewKeySet(signing Key, older ...Key) (*KeySet, error) {
	ks := &KeySet{signing: signing, byID: make(map[string][]byte)}
	for _, k := range append([]Key{signing}, older...) {
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, ":, \t\n"):
			return nil, fmt.Errorf("%w: key id %q must be non-empty without separators", ErrInvalid, k.ID)
		case len(k.Secret) < MinKeyBytes:
			return nil, fmt.Errorf("%w: key %q has %d bytes, want at least %d", ErrInvalid, k.ID, len(k.Secret), MinKeyBytes)
		}
		if _, dup := ks.byID[k.ID]; dup {
			return nil, fmt.Errorf("%w: key id %q appears twice", ErrInvalid, k.ID)
		}
		ks.byID[k.ID] = append([]byte(nil), k.Secret...)
	}
	return ks, nil
}

// ParseKeys reads a key set from configuration: "kid1:base64key,kid2:base64key", the first key
// signing. Keys are standard or URL-safe base64, padded or not.
func ParseKeys(config string) (*KeySet, error) {
	var keys []Key
	for item := range strings.SplitSeq(config, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, b64, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("%w: key %q is not kid:base64key", ErrInvalid, redactKey(item))
		}
		secret, err := decodeBase64(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("%w: key %q is not base64", ErrInvalid, strings.TrimSpace(id))
		}
		keys = append(keys, Key{ID: strings.TrimSpace(id), Secret: secret})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no signing key configured", ErrInvalid)
	}
	return NewKeySet(keys[0], keys[1:]...)
}

// GenerateKey returns a random key of 256 bits as base64, for "kid:key" configuration.
func GenerateKey() string {
	b := make([]byte, MinKeyBytes)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// SigningKeyID names the key that signs new tokens.
func (ks *KeySet) SigningKeyID() string { return ks.signing.ID }

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// redactKey keeps a malformed configuration entry's secret out of error messages and logs.
func redactKey(item string) string {
	if len(item) > 4 {
		return item[:4] + "..."
	}
	return "..."
}

// TokenConfig configures access tokens.
type TokenConfig struct {
	Keys     *KeySet
	Issuer   string // e.g. "https://survey.example.org"
	Audience string // e.g. "expertsurvey-api"
	TTL      time.Duration
	// Leeway tolerates clock skew between service instances in exp, nbf and iat checks.
	Leeway time.Duration
	Now    func() time.Time
}

// Tokens issues and verifies access tokens: JWTs signed with HS256 only, carrying iss, aud, sub,
// exp, nbf, iat and jti, all of which Verify checks (RFC 8725).
type Tokens struct {
	cfg    TokenConfig
	parser *jwt.Parser
}

// NewTokens checks cfg and fills the defaults (TTL 15 minutes, leeway 30 seconds).
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	var fe FieldErrors
	if cfg.Keys == nil {
		fe = append(fe, FieldError{"keys", "are required"})
	}
	if cfg.Issuer == "" {
		fe = append(fe, FieldError{"issuer", "is required"})
	}
	if cfg.Audience == "" {
		fe = append(fe, FieldError{"audience", "is required"})
	}
	if cfg.TTL < 0 || cfg.Leeway < 0 {
		fe = append(fe, FieldError{"ttl", "must not be negative"})
	}
	if err := fe.orNil(); err != nil {
		return nil, err
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultAccessTTL
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Tokens{cfg: cfg}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{signingMethod.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	return t, nil
}

// Issue returns a signed access token for userID and when it expires.
func (t *Tokens) Issue(userID string) (string, time.Time, error) {
	if userID == "" {
		return "", time.Time{}, fmt.Errorf("%w: empty subject", ErrInvalid)
	}
	// JWT times have second precision; truncating keeps the returned expiry equal to the claim.
	now := t.cfg.Now().UTC().Truncate(time.Second)
	exp := now.Add(t.cfg.TTL)
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := accessClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    t.cfg.Issuer,
		Subject:   userID,
		Audience:  jwt.ClaimStrings{t.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        hex.EncodeToString(jti),
	}, IssuedAtMS: t.cfg.Now().UTC().UnixMilli()}
	tok := jwt.NewWithClaims(signingMethod, claims)
	tok.Header["kid"] = t.cfg.Keys.signing.ID
	s, err := tok.SignedString(t.cfg.Keys.signing.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign access token: %w", err)
	}
	return s, exp, nil
}

// accessClaims are an access token's claims: the registered ones, and the issue time in
// milliseconds, since iat has whole seconds and a sign-out must end the tokens issued before it
// in the same second but not those issued after it.
type accessClaims struct {
	jwt.RegisteredClaims
	IssuedAtMS int64 `json:"iat_ms,omitempty"`
}

// Verify checks token and returns its subject. Every failure wraps ErrUnauthorized with the
// reason (for logs; clients get a plain 401).
func (t *Tokens) Verify(token string) (string, error) {
	sub, _, err := t.VerifyIssued(token)
	return sub, err
}

// VerifyIssued is Verify that also returns when the token was issued (to the millisecond, or
// to the second for a token without iat_ms), for checks against a user's sign-out time.
func (t *Tokens) VerifyIssued(token string) (string, time.Time, error) {
	var claims accessClaims
	_, err := t.parser.ParseWithClaims(token, &claims, t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: access token: %w", ErrUnauthorized, err)
	}
	// The parser checks presence of exp and, when present, iss, aud, nbf and iat; these three
	// must be present too.
	switch {
	case claims.Subject == "":
		return "", time.Time{}, fmt.Errorf("%w: access token: no subject", ErrUnauthorized)
	case claims.ID == "":
		return "", time.Time{}, fmt.Errorf("%w: access token: no jti", ErrUnauthorized)
	case claims.NotBefore == nil || claims.IssuedAt == nil:
		return "", time.Time{}, fmt.Errorf("%w: access token: no nbf or iat", ErrUnauthorized)
	}
	issued := claims.IssuedAt.Time
	// iat_ms refines iat within its second; anything else (a forged value elsewhere) is ignored.
	if ms := time.UnixMilli(claims.IssuedAtMS); claims.IssuedAtMS != 0 && ms.Truncate(time.Second).Equal(issued.Truncate(time.Second)) {
		issued = ms
	}
	return claims.Subject, issued, nil
}

// key picks the verification key by the header's kid; the algorithm was already pinned by the
// parser, so a token cannot pick a key meant for something else.
func (t *Tokens) key(tok *jwt.Token) (any, error) {
	if tok.Method != signingMethod {
		return nil, fmt.Errorf("algorithm %v refused", tok.Header["alg"])
	}
	kid, _ := tok.Header["kid"].(string)
	secret, ok := t.cfg.Keys.byID[kid]
	if !ok {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	return secret, nil
}
