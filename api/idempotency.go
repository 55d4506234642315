package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v5"
)

// Idempotency-Key on the review actions: a client that retries a verdict after a lost response
// must not give it twice, nor get a confusing 409 for its own first attempt. The first request
// with a key claims it in the store (a unique insert, so two instances agree on which request
// acts); its response is stored and replayed to every retry with the same key and body. The
// same key with another body is refused with 422; a retry while the first is still running gets
// 409 with Retry-After. A response of 5xx is not kept: the key is released so a retry acts.

// IdempotencyTTL is how long a key and its response are kept.
const IdempotencyTTL = 24 * time.Hour

// maxIdempotencyKey bounds the header; UUIDs and similar fit many times over.
const maxIdempotencyKey = 200

// IdempotencyStore keeps claimed keys and their responses. Keys arrive scoped to the user.
type IdempotencyStore interface {
	// ClaimIdempotencyKey claims key for a request whose hash is hash. When another request
	// holds it, it reports that request's hash and, once known, its response.
	ClaimIdempotencyKey(ctx context.Context, key string, hash []byte, ttl time.Duration) (IdempotencyClaim, error)
	// SaveIdempotentResponse stores the response of the request that claimed key.
	SaveIdempotentResponse(ctx context.Context, key string, r StoredResponse, ttl time.Duration) error
	// ReleaseIdempotencyKey forgets key, so that a retry runs again.
	ReleaseIdempotencyKey(ctx context.Context, key string) error
}

// IdempotencyClaim is the outcome of a claim.
type IdempotencyClaim struct {
	Claimed  bool
	Hash     []byte          // of the request holding the key, when not claimed
	Response *StoredResponse // its response, once known
}

// StoredResponse is what a replay sends back.
type StoredResponse struct {
	Status      int
	ContentType string
	ETag        string
	Location    string
	Body        []byte
}

// idempotent wraps a handler of an unsafe method with Idempotency-Key handling.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		key := c.Request().Header.Get("Idempotency-Key")
		if key == "" || s.idempotency == nil {
			return next(c)
		}
		if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) || r > unicode.MaxASCII }) {
			return invalid("Idempotency-Key must be printable ASCII, at most 200 characters",
				FieldError{Field: "Idempotency-Key", Reason: "must be printable ASCII, at most 200 characters"})
		}
		p := principal(c)
		if p.UserID == "" {
			return next(c) // the handler refuses the anonymous request
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		for _, part := range []string{c.Request().Method, c.Request().URL.Path, c.Request().Header.Get("If-Match")} {
			h.Write([]byte(part))
			h.Write([]byte{0})
		}
		h.Write(body)
		hash := h.Sum(nil)
		scoped := p.UserID + "/" + key
		ctx := c.Request().Context()
		claim, err := s.idempotency.ClaimIdempotencyKey(ctx, scoped, hash, IdempotencyTTL)
		if err != nil {
			return err
		}
		if !claim.Claimed {
			switch {
			case !bytes.Equal(claim.Hash, hash):
				return newProblem(kindUnprocessable, "this Idempotency-Key was used with another request; use a new key for a new request",
					FieldError{Field: "Idempotency-Key", Reason: "already used with another request"})
			case claim.Response == nil:
				c.Response().Header().Set("Retry-After", "1")
				return newProblem(kindConflict, "a request with this Idempotency-Key is still being processed; retry shortly",
					FieldError{Field: "Idempotency-Key", Reason: "in progress"})
			}
			return replay(c, claim.Response)
		}
		rec := &recorder{ResponseWriter: c.Response()}
		c.SetResponse(rec)
		if err := next(c); err != nil {
			// Render the error here, so that the problem a retry gets is the same.
			s.writeProblem(c, err)
		}
		c.SetResponse(rec.ResponseWriter)
		// The outcome is kept even if the client went away: the retry it sends will want it.
		keep := context.WithoutCancel(ctx)
		if rec.status >= 500 || rec.status == 0 || rec.status == statusClientClosed {
			return s.idempotency.ReleaseIdempotencyKey(keep, scoped)
		}
		return s.idempotency.SaveIdempotentResponse(keep, scoped, StoredResponse{
			Status: rec.status, ContentType: rec.Header().Get(echo.HeaderContentType), ETag: rec.Header().Get("ETag"),
			Location: rec.Header().Get("Location"), Body: rec.body.Bytes()}, IdempotencyTTL)
	}
}

// replay sends a stored response again, marked as a replay.
func replay(c *echo.Context, r *StoredResponse) error {
	h := c.Response().Header()
	for name, v := range map[string]string{echo.HeaderContentType: r.ContentType, "ETag": r.ETag, "Location": r.Location} {
		if v != "" {
			h.Set(name, v)
		}
	}
	h.Set("Idempotent-Replayed", "true")
	c.Response().WriteHeader(r.Status)
	_, err := c.Response().Write(r.Body)
	return err
}

// recorder passes a response through while keeping its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets Echo reach the response underneath (echo.UnwrapResponse).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
