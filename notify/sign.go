package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook delivery.
const (
	// HeaderSignature carries "sha256=<hex>": HMAC-SHA256, keyed with the webhook's secret,
	// of the timestamp header's value, a ".", and the body.
	HeaderSignature = "X-Expertsurvey-Signature"
	// HeaderTimestamp is the Unix time of the attempt, in seconds; it is signed, so that a
	// receiver can refuse old replays.
	HeaderTimestamp = "X-Expertsurvey-Timestamp"
	// HeaderEvent and HeaderIdempotencyKey both carry the notification's ID, the same on every
	// attempt and every instance.
	HeaderEvent          = "X-Expertsurvey-Event"
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderAttempt is the attempt's number, from 1.
	HeaderAttempt = "X-Expertsurvey-Attempt"
)

// secretBytes is the entropy of a generated webhook secret.
const secretBytes = 32

// NewSecret returns a fresh random webhook secret.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// Sign returns the signature header's value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(t.Unix(), 10), body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrTooOld       = errors.New("timestamp outside the tolerance")
)

// Verify checks a delivery as a receiver should: the signature over the timestamp and the body,
// in constant time, and that the timestamp is within tolerance of now. It is what receivers
// written in Go can call; docs/notifications.md shows the same in other words.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrBadSignature, timestamp)
	}
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return fmt.Errorf("%w: no sha256= prefix", ErrBadSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, mac(secret, timestamp, body)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	return nil
}
