// Package notify tells people that work has arrived on their queue: it decides which entries
// of a sheet's log put work on whose queue (From), builds the notification each such entry
// sends (its ID, the entry's log position plus the kind, is the idempotency key), signs the
// body for webhooks (Sign, Verify), says when a failed delivery is tried again (Backoff), and
// runs the deliveries (Dispatcher) on any number of instances without delivering an event
// twice.
//
// The sheet log is the outbox. Every review move is already one immutable log entry, written
// by one insert under a unique key; a notification is a pure function of that entry, so
// writing a move and its notification is one atomic write and there is nothing to lose
// between them. Delivery state is kept in the same way as everything else that must hold
// under concurrency (FerretDB's updates are not atomic): every attempt to deliver an event to
// a webhook is claimed by inserting a document with the key "<webhook>/<event>/<attempt>", and
// a duplicate key means that another instance holds that attempt. The first attempt's insert
// is the claim of the whole delivery.
//
// The package imports neither Echo nor the database driver; the store adapter implements
// Store and DispatchStore.
package notify
