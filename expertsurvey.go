// Package expertsurvey holds what the whole project shares at its root: the API contract.
package expertsurvey

import _ "embed"

// OpenAPI is openapi.yaml, the contract of the HTTP API, embedded so that the binary serves the
// exact spec its tests validate against.
//
//go:embed openapi.yaml
var OpenAPI []byte
