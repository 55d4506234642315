package mongodb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/notify"
	"github.com/expertsurvey/expertsurvey/round"
)

// The notification side of the store (see the notify package). The outbox is the sheet log
// itself (colEvents); these collections hold the configured webhooks and the attempts to
// deliver to them.
const (
	// colWebhooks holds one document per webhook, keyed by its ID, secret included: the one
	// place the secret is kept (the audit trail records the webhook without it).
	colWebhooks = "webhooks"
	// colWebhookDeliveries holds one document per delivery attempt, keyed
	// "<webhook>/<event>/<attempt, 2 digits>": inserting attempt 1 claims the delivery,
	// inserting attempt n+1 claims the retry, and a duplicate key means another instance holds
	// it.
	colWebhookDeliveries = "webhook_deliveries"
	// colNotifyCursors holds, per sheet ("<round>/<country>"), the last log position a
	// dispatcher handed to its workers: where the next start reads from.
	colNotifyCursors = "notify_cursors"
)

type webhookDoc struct {
	ID          string    `bson:"_id"`
	URL         string    `bson:"url"`
	Secret      string    `bson:"secret"`
	Description string    `bson:"description,omitempty"`
	Kinds       []string  `bson:"kinds,omitempty"`
	CreatedAt   time.Time `bson:"created_at"`
	CreatedBy   string    `bson:"created_by"`
}

// webhookAudit is a webhook as the audit trail records it: everything but the secret.
type webhookAudit struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Kinds       []string `json:"kinds,omitempty"`
	CreatedBy   string   `json:"created_by"`
}

func toWebhookDoc(w notify.Webhook) webhookDoc {
	return webhookDoc{ID: w.ID, URL: w.URL, Secret: w.Secret, Description: w.Description,
		Kinds: convert(w.Kinds, func(k notify.Kind) string { return string(k) }), CreatedAt: w.CreatedAt.UTC(), CreatedBy: w.CreatedBy}
}

func fromWebhookDoc(d webhookDoc) notify.Webhook {
	return notify.Webhook{ID: d.ID, URL: d.URL, Secret: d.Secret, Description: d.Description,
		Kinds: convert(d.Kinds, func(k string) notify.Kind { return notify.Kind(k) }), CreatedAt: d.CreatedAt.UTC(), CreatedBy: d.CreatedBy}
}

func webhookStream(id string) string { return "webhook/" + id }

// CreateWebhook implements notify.Store. The log entry comes first: position 1 of the
// webhook's stream can be taken once, so an ID collision is refused there.
func (s *Store) CreateWebhook(ctx context.Context, w notify.Webhook, actor string, at time.Time) error {
	d := toWebhookDoc(w)
	ev, err := audit.New(ctx, "webhook.create", webhookStream(w.ID), nil,
		webhookAudit{ID: d.ID, URL: d.URL, Description: d.Description, Kinds: d.Kinds, CreatedBy: d.CreatedBy}, at)
	if err != nil {
		return err
	}
	ev.Actor = actor
	won, err := s.appendEvent(ctx, webhookStream(w.ID), 1, ev)
	if err != nil {
		return err
	}
	if !won {
		return fmt.Errorf("webhook id %s is taken: %w", w.ID, notify.ErrConflict)
	}
	if _, err := s.db.Collection(colWebhooks).InsertOne(ctx, d); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

// Webhooks implements notify.Store and notify.DispatchStore: every webhook, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]notify.Webhook, error) {
	docs, err := findAll[webhookDoc](ctx, s.db.Collection(colWebhooks), bson.D{}, "list webhooks",
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	return convert(docs, fromWebhookDoc), nil
}

// Webhook implements notify.Store.
func (s *Store) Webhook(ctx context.Context, id string) (notify.Webhook, error) {
	var d webhookDoc
	err := s.db.Collection(colWebhooks).FindOne(ctx, byID(id)).Decode(&d)
	if isNotFound(err) {
		return notify.Webhook{}, fmt.Errorf("webhook %s: %w", id, notify.ErrNotFound)
	}
	if err != nil {
		return notify.Webhook{}, fmt.Errorf("read webhook: %w", err)
	}
	return fromWebhookDoc(d), nil
}

// DeleteWebhook implements notify.Store: position 2 of the webhook's stream records the
// deletion, once; its attempts stay, as the record of what was sent.
func (s *Store) DeleteWebhook(ctx context.Context, id, actor string, at time.Time) error {
	w, err := s.Webhook(ctx, id)
	if err != nil {
		return err
	}
	ev, err := audit.New(ctx, "webhook.delete", webhookStream(id),
		webhookAudit{ID: w.ID, URL: w.URL, Description: w.Description, CreatedBy: w.CreatedBy}, nil, at)
	if err != nil {
		return err
	}
	ev.Actor = actor
	won, err := s.appendEvent(ctx, webhookStream(id), 2, ev)
	if err != nil {
		return err
	}
	if !won {
		return fmt.Errorf("webhook %s was deleted meanwhile: %w", id, notify.ErrNotFound)
	}
	if _, err := s.db.Collection(colWebhooks).DeleteOne(ctx, byID(id)); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}

type attemptDoc struct {
	ID         string     `bson:"_id"`
	Webhook    string     `bson:"webhook"`
	Event      string     `bson:"event"`
	Kind       string     `bson:"kind"`
	N          int        `bson:"n"`
	Status     string     `bson:"status"`
	Code       int        `bson:"code,omitempty"`
	Error      string     `bson:"error,omitempty"`
	At         time.Time  `bson:"at"`
	Finished   *time.Time `bson:"finished,omitempty"`
	LeaseUntil time.Time  `bson:"lease_until"`
	RetryAt    *time.Time `bson:"retry_at,omitempty"`
	Instance   string     `bson:"instance,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromOptTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toAttemptDoc(a notify.Attempt) attemptDoc {
	return attemptDoc{ID: notify.AttemptID(a.Webhook, a.Event, a.N), Webhook: a.Webhook, Event: a.Event, Kind: string(a.Kind), N: a.N,
		Status: a.Status, Code: a.Code, Error: a.Error, At: a.At.UTC(), Finished: optTime(a.Finished), LeaseUntil: a.LeaseUntil.UTC(),
		RetryAt: optTime(a.RetryAt), Instance: a.Instance}
}

func fromAttemptDoc(d attemptDoc) notify.Attempt {
	return notify.Attempt{Webhook: d.Webhook, Event: d.Event, Kind: notify.Kind(d.Kind), N: d.N, Status: d.Status, Code: d.Code,
		Error: d.Error, At: d.At.UTC(), Finished: fromOptTime(d.Finished), LeaseUntil: d.LeaseUntil.UTC(), RetryAt: fromOptTime(d.RetryAt),
		Instance: d.Instance}
}

// ClaimAttempt implements notify.DispatchStore: one insert under the attempt's unique key.
func (s *Store) ClaimAttempt(ctx context.Context, a notify.Attempt) (bool, error) {
	_, err := s.db.Collection(colWebhookDeliveries).InsertOne(ctx, toAttemptDoc(a))
	if isDuplicateKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim delivery attempt: %w", err)
	}
	return true, nil
}

// FinishAttempt implements notify.DispatchStore. Only the instance that claimed the attempt
// writes its outcome, so a plain replacement by _id is safe on both servers.
func (s *Store) FinishAttempt(ctx context.Context, a notify.Attempt) error {
	d := toAttemptDoc(a)
	if _, err := s.db.Collection(colWebhookDeliveries).ReplaceOne(ctx, byID(d.ID), d); err != nil {
		return fmt.Errorf("record delivery attempt: %w", err)
	}
	return nil
}

// ReleaseAttempt implements notify.DispatchStore; only the claimer of the next attempt calls it.
func (s *Store) ReleaseAttempt(ctx context.Context, a notify.Attempt) error {
	a.RetryAt = time.Time{}
	if a.Status == notify.StatusSending {
		a.Status = notify.StatusAbandoned
	}
	return s.FinishAttempt(ctx, a)
}

// DueAttempts implements notify.DispatchStore. Both filters scan on the embedded store; the
// collection holds a few documents per delivered event.
func (s *Store) DueAttempts(ctx context.Context, now time.Time) ([]notify.Attempt, error) {
	col := s.db.Collection(colWebhookDeliveries)
	sort := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(1000)
	failed, err := findAll[attemptDoc](ctx, col, bson.D{{Key: "status", Value: notify.StatusFailed},
		{Key: "retry_at", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}}, "due retries", sort)
	if err != nil {
		return nil, err
	}
	stuck, err := findAll[attemptDoc](ctx, col, bson.D{{Key: "status", Value: notify.StatusSending},
		{Key: "lease_until", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}}, "expired leases", sort)
	if err != nil {
		return nil, err
	}
	return convert(append(failed, stuck...), fromAttemptDoc), nil
}

// Deliveries implements notify.Store: the deliveries of a webhook after the event ID after, in
// event ID order, each with its attempts.
func (s *Store) Deliveries(ctx context.Context, webhook, after string, limit int) ([]notify.Delivery, error) {
	col := s.db.Collection(colWebhookDeliveries)
	filter := bson.D{{Key: "webhook", Value: webhook}, {Key: "n", Value: 1}}
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: notify.AttemptID(webhook, after, 1)}}})
	}
	firsts, err := findAll[attemptDoc](ctx, col, filter, "list deliveries",
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil || len(firsts) == 0 {
		return nil, err
	}
	events := convert(firsts, func(d attemptDoc) string { return d.Event })
	all, err := findAll[attemptDoc](ctx, col, bson.D{{Key: "webhook", Value: webhook}, {Key: "event", Value: bson.D{{Key: "$in", Value: events}}}},
		"list delivery attempts", options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]notify.Delivery, len(firsts))
	for i, f := range firsts {
		out[i] = notify.Delivery{Webhook: webhook, Event: f.Event, Kind: notify.Kind(f.Kind)}
	}
	for _, d := range all {
		if i := slices.Index(events, d.Event); i >= 0 {
			out[i].Attempts = append(out[i].Attempts, fromAttemptDoc(d))
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Attempts, func(a, b notify.Attempt) int { return a.N - b.N })
		out[i].State = notify.StateOf(out[i].Attempts)
	}
	return out, nil
}

// notifyEntryDoc is what the dispatcher reads of a log entry: its key, time and review moves.
type notifyEntryDoc struct {
	ID    string        `bson:"_id"`
	Seq   int64         `bson:"seq"`
	Time  time.Time     `bson:"time"`
	After bson.RawValue `bson:"after"`
}

var notifyEntryProjection = bson.D{{Key: "seq", Value: 1}, {Key: "time", Value: 1}, {Key: "after.review", Value: 1}}

// Entry implements notify.DispatchStore: one point read by _id. An entry without review moves
// (or written by schema 1, whose after-state was JSON text and had none) has no Moves.
func (s *Store) Entry(ctx context.Context, id string) (notify.Entry, bool, error) {
	roundID, country, seq, ok := notify.ParseEntryID(id)
	if !ok {
		return notify.Entry{}, false, fmt.Errorf("not a sheet log key: %q", id)
	}
	var d notifyEntryDoc
	err := s.db.Collection(colEvents).FindOne(ctx, byID(id), options.FindOne().SetProjection(notifyEntryProjection)).Decode(&d)
	if isNotFound(err) {
		return notify.Entry{}, false, nil
	}
	if err != nil {
		return notify.Entry{}, false, fmt.Errorf("read log entry: %w", err)
	}
	e := notify.Entry{ID: id, Round: roundID, Country: country, Seq: seq, Time: d.Time.UTC()}
	if d.After.Type != bson.TypeEmbeddedDocument {
		return e, true, nil
	}
	var after struct {
		Review []reviewChangeDoc `bson:"review"`
	}
	if err := d.After.Unmarshal(&after); err != nil {
		return notify.Entry{}, false, fmt.Errorf("entry %s: %w", id, err)
	}
	e.Moves = convert(after.Review, fromReviewChangeDoc)
	return e, true, nil
}

// ActiveSheets implements notify.DispatchStore: every country of every round open or closed.
func (s *Store) ActiveSheets(ctx context.Context) ([]notify.Sheet, error) {
	rounds, err := s.Rounds(ctx)
	if err != nil {
		return nil, err
	}
	var out []notify.Sheet
	for _, r := range rounds {
		if r.Status != round.StatusOpen && r.Status != round.StatusClosed {
			continue
		}
		for _, c := range r.Countries {
			out = append(out, notify.Sheet{Round: r.ID, Country: c})
		}
	}
	return out, nil
}

type notifyCursorDoc struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// StartSeq implements notify.DispatchStore: the saved cursor, or else the sheet's checkpoint
// position (0 for a sheet nobody wrote to). Starting from the checkpoint rather than the end of
// the log means that the entries a stopped instance wrote after the last checkpoint are still
// looked at; older ones were written before any dispatcher looked at the sheet, which happens
// only on the first start of a release with notifications (and webhooks created since then
// take only later entries anyway).
func (s *Store) StartSeq(ctx context.Context, sh notify.Sheet) (int64, error) {
	var c notifyCursorDoc
	err := s.db.Collection(colNotifyCursors).FindOne(ctx, byID(sh.String())).Decode(&c)
	if err == nil {
		return c.Seq, nil
	}
	if !isNotFound(err) {
		return 0, fmt.Errorf("read notification cursor: %w", err)
	}
	var d struct {
		Seq int64 `bson:"seq"`
	}
	err = s.db.Collection(colSheets).FindOne(ctx, byID(sh.String()), options.FindOne().SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&d)
	if isNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read sheet checkpoint: %w", err)
	}
	return d.Seq, nil
}

// SaveSheetCursor implements notify.DispatchStore. $max only moves the mark forward on
// MongoDB; on the embedded store two instances saving at once may leave the lower mark (its
// updates are not atomic), which costs re-reading a few entries after a restart, whose claims
// then fail on their keys: never a lost or a repeated notification.
func (s *Store) SaveSheetCursor(ctx context.Context, sh notify.Sheet, seq int64) error {
	_, err := s.db.Collection(colNotifyCursors).UpdateOne(ctx, byID(sh.String()),
		bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: seq}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save notification cursor: %w", err)
	}
	return nil
}
