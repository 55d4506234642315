// Package auth is the identity and access domain: users and their password hashes, role
// assignments per round and country, the access policy, signed access tokens, rotating refresh
// tokens, one-time invitation and reset tokens, and the brute-force lockout.
//
// Every authorization decision goes through Principal.Can, so the rules of who may do what live
// in one file (policy.go). The package imports neither the HTTP framework nor the database
// driver: it declares the store it needs (Store) and the mongodb package implements it.
//
// Concurrency-sensitive steps (consuming a refresh or invitation token, counting failed logins,
// changing a user) are inserts under a unique key in the store, because on the embedded store
// inserts are atomic and updates are not (docs/data-model.md, "How writes work").
package auth
