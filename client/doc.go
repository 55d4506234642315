// Package client is the Go client of the expertsurvey API, generated from openapi.yaml by
// oapi-codegen (the version is pinned in the go:generate line below). Run `go generate ./client/`
// after changing the contract; CI fails when the checked-in code is not what the contract
// generates. The end-to-end test in this package plays a whole round through it.
//
// NewClientWithResponses(server, WithRequestEditorFn(...)) returns a client whose methods take the
// contract's named request types and return its named response types per status (JSON200,
// ApplicationproblemJSON412, ...).
package client

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../openapi.yaml
