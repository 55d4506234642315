package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newTestTokens(t *testing.T, ks *KeySet, c *clock) *Tokens {
	t.Helper()
	tok, err := NewTokens(TokenConfig{Keys: ks, Issuer: "https://survey.test", Audience: "expertsurvey", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustKeySet(t *testing.T, signing Key, older ...Key) *KeySet {
	t.Helper()
	ks, err := NewKeySet(signing, older...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestIssueVerify(t *testing.T) {
	c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tok := newTestTokens(t, mustKeySet(t, Key{"k1", secretA}), c)
	s, exp, err := tok.Issue("u_1")
	if err != nil {
		t.Fatal(err)
	}
	if want := c.t.Add(DefaultAccessTTL); !exp.Equal(want) {
		t.Errorf("expiry %v; want %v", exp, want)
	}
	sub, err := tok.Verify(s)
	if err != nil || sub != "u_1" {
		t.Fatalf("Verify = %q, %v; want u_1", sub, err)
	}
	c.t = exp.Add(time.Minute) // past the leeway
	if _, err := tok.Verify(s); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Verify(expired) = %v; want ErrUnauthorized", err)
	}
}

// sign builds a token with the given header and claims, signed by method with key, bypassing
// Issue so that each test can break one rule.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &clock{now}
	tok := newTestTokens(t, mustKeySet(t, Key{"k1", secretA}), c)
	good := func() jwt.MapClaims {
		return jwt.MapClaims{
			"iss": "https://survey.test", "aud": "expertsurvey", "sub": "u_1", "jti": "j1",
			"exp": now.Add(10 * time.Minute).Unix(), "nbf": now.Unix(), "iat": now.Unix(),
		}
	}
	with := func(k string, v any) jwt.MapClaims {
		m := good()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	noneToken := b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"k1"}`)) + "." +
		b64.EncodeToString([]byte(`{"iss":"https://survey.test","aud":"expertsurvey","sub":"u_1","jti":"j","exp":`+
			itoa(now.Add(time.Minute).Unix())+`,"nbf":`+itoa(now.Unix())+`,"iat":`+itoa(now.Unix())+`}`)) + "."

	if _, err := tok.Verify(sign(t, jwt.SigningMethodHS256, secretA, "k1", good())); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	tests := map[string]string{
		"alg none":          noneToken,
		"alg none via lib":  sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", good()),
		"HS512 same key":    sign(t, jwt.SigningMethodHS512, secretA, "k1", good()),
		"RS256":             sign(t, jwt.SigningMethodRS256, rsaKey, "k1", good()),
		"other key":         sign(t, jwt.SigningMethodHS256, secretB, "k1", good()),
		"unknown kid":       sign(t, jwt.SigningMethodHS256, secretA, "k9", good()),
		"no kid":            sign(t, jwt.SigningMethodHS256, secretA, "", good()),
		"expired":           sign(t, jwt.SigningMethodHS256, secretA, "k1", with("exp", now.Add(-time.Hour).Unix())),
		"no exp":            sign(t, jwt.SigningMethodHS256, secretA, "k1", with("exp", nil)),
		"nbf in the future": sign(t, jwt.SigningMethodHS256, secretA, "k1", with("nbf", now.Add(time.Hour).Unix())),
		"iat in the future": sign(t, jwt.SigningMethodHS256, secretA, "k1", with("iat", now.Add(time.Hour).Unix())),
		"no nbf":            sign(t, jwt.SigningMethodHS256, secretA, "k1", with("nbf", nil)),
		"no iat":            sign(t, jwt.SigningMethodHS256, secretA, "k1", with("iat", nil)),
		"wrong aud":         sign(t, jwt.SigningMethodHS256, secretA, "k1", with("aud", "other-api")),
		"no aud":            sign(t, jwt.SigningMethodHS256, secretA, "k1", with("aud", nil)),
		"wrong iss":         sign(t, jwt.SigningMethodHS256, secretA, "k1", with("iss", "https://evil.test")),
		"no iss":            sign(t, jwt.SigningMethodHS256, secretA, "k1", with("iss", nil)),
		"no sub":            sign(t, jwt.SigningMethodHS256, secretA, "k1", with("sub", nil)),
		"no jti":            sign(t, jwt.SigningMethodHS256, secretA, "k1", with("jti", nil)),
		"garbage":           "not.a.jwt",
		"empty":             "",
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			if sub, err := tok.Verify(s); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Verify = %q, %v; want ErrUnauthorized", sub, err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestKeyRotation(t *testing.T) {
	c := &clock{time.Now()}
	old := newTestTokens(t, mustKeySet(t, Key{"k1", secretA}), c)
	oldToken, _, _ := old.Issue("u_1")

	rotated := newTestTokens(t, mustKeySet(t, Key{"k2", secretB}, Key{"k1", secretA}), c)
	if sub, err := rotated.Verify(oldToken); err != nil || sub != "u_1" {
		t.Fatalf("token of the previous key after rotation: %q, %v; want accepted", sub, err)
	}
	newToken, _, _ := rotated.Issue("u_2")
	if h := strings.Split(newToken, ".")[0]; !strings.Contains(string(must(base64.RawURLEncoding.DecodeString(h))), `"kid":"k2"`) {
		t.Fatalf("new token is not signed with the new key: header %s", must(base64.RawURLEncoding.DecodeString(h)))
	}
	if _, err := old.Verify(newToken); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("old instance verified a token of a key it does not know: %v", err)
	}
	removed := newTestTokens(t, mustKeySet(t, Key{"k2", secretB}), c)
	if _, err := removed.Verify(oldToken); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("token of a removed key: %v; want ErrUnauthorized", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestKeySetRefusesShortOrDuplicateKeys(t *testing.T) {
	if _, err := NewKeySet(Key{"k1", secretA[:31]}); !errors.Is(err, ErrInvalid) {
		t.Errorf("31-byte key: %v; want ErrInvalid", err)
	}
	if _, err := NewKeySet(Key{"k1", secretA}, Key{"k1", secretB}); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate kid: %v; want ErrInvalid", err)
	}
	if _, err := NewKeySet(Key{"", secretA}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty kid: %v; want ErrInvalid", err)
	}
}

func TestParseKeys(t *testing.T) {
	a := base64.StdEncoding.EncodeToString(secretA)
	b := base64.RawURLEncoding.EncodeToString(secretB)
	ks, err := ParseKeys(" new:" + a + " , old:" + b)
	if err != nil {
		t.Fatal(err)
	}
	if ks.SigningKeyID() != "new" || !bytes.Equal(ks.byID["old"], secretB) || !bytes.Equal(ks.byID["new"], secretA) {
		t.Fatalf("parsed %+v", ks)
	}
	short := base64.StdEncoding.EncodeToString(secretA[:16])
	for _, bad := range []string{"", "k1", "k1:" + short, "k1:!!notbase64!!", "k1:" + a + ",k1:" + a} {
		if _, err := ParseKeys(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseKeys(%q) = %v; want ErrInvalid", bad, err)
		}
	}
	if _, err := ParseKeys("k1:" + GenerateKey()); err != nil {
		t.Errorf("generated key refused: %v", err)
	}
}
