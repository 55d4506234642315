// Package expertsurvey holds what the whole project shares at its root: the API contract and the
// two store failures that every layer must be able to name without importing the store adapter.
package expertsurvey

import (
	_ "embed"
	"errors"
)

// OpenAPI is openapi.yaml, the contract of the HTTP API, embedded so that the binary serves the
// exact spec its tests validate against.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Store failures that are not the request's fault and not a bug. The store adapter wraps the
// driver's errors in them (mongodb.Classify) and the API answers them with their own problem
// types; they live here because api may not import the adapter and the adapter may not import api.
var (
	// ErrStoreUnavailable: the store did not answer in time (down, unreachable, no primary).
	// Retrying later is the right response; nothing was written.
	ErrStoreUnavailable = errors.New("store unavailable")
	// ErrStoreFull: the store has no room left for the write (disk full).
	ErrStoreFull = errors.New("store out of space")
)
