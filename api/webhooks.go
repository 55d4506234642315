package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/notify"
)

// Webhooks receive the notifications of work arriving on someone's queue (docs/notifications.md).
// Admins configure them; the secret that signs deliveries is shown once, in the answer to the
// creation.

// maxDeliveriesPage bounds a page of GET /v1/webhooks/{id}/deliveries.
const maxDeliveriesPage = 200

type createWebhookRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Kinds       []string `json:"kinds"`
}

type webhookResponse struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Description string    `json:"description,omitempty"`
	Kinds       []string  `json:"kinds"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	// Secret is set only in the answer to the creation.
	Secret string `json:"secret,omitempty"`
}

type webhookListResponse struct {
	Webhooks []webhookResponse `json:"webhooks"`
	Next     string            `json:"next,omitempty"`
}

type deliveryAttemptResponse struct {
	Attempt    int        `json:"attempt"`
	Status     string     `json:"status"`
	Code       int        `json:"code,omitempty"`
	Error      string     `json:"error,omitempty"`
	At         time.Time  `json:"at"`
	Finished   *time.Time `json:"finished,omitempty"`
	LeaseUntil time.Time  `json:"lease_until"`
	RetryAt    *time.Time `json:"retry_at,omitempty"`
}

type deliveryResponse struct {
	Event    string                    `json:"event"`
	Kind     string                    `json:"kind"`
	State    string                    `json:"state"`
	Attempts []deliveryAttemptResponse `json:"attempts"`
}

type deliveryListResponse struct {
	Deliveries []deliveryResponse `json:"deliveries"`
	Next       string             `json:"next,omitempty"`
}

func toWebhookResponse(w notify.Webhook) webhookResponse {
	kinds := make([]string, len(w.Kinds))
	for i, k := range w.Kinds {
		kinds[i] = string(k)
	}
	return webhookResponse{ID: w.ID, URL: w.URL, Description: w.Description, Kinds: kinds, CreatedAt: w.CreatedAt.UTC(), CreatedBy: w.CreatedBy}
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// handleListWebhooks handles GET /v1/webhooks (admins).
func (s *Server) handleListWebhooks(c *echo.Context) error {
	ws, err := s.webhooks.List(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	ws, next, err := keyPage(c, ws, func(w *notify.Webhook) string { return creationKey(w.CreatedAt, w.ID) }, 100, 500)
	if err != nil {
		return err
	}
	resp := webhookListResponse{Webhooks: make([]webhookResponse, len(ws)), Next: next}
	for i, w := range ws {
		resp.Webhooks[i] = toWebhookResponse(w)
	}
	return c.JSON(http.StatusOK, resp)
}

// handleCreateWebhook handles POST /v1/webhooks (admins): the answer holds the secret, once.
func (s *Server) handleCreateWebhook(c *echo.Context) error {
	p := principal(c)
	// Authorization before the body: a caller who may not create learns nothing from it.
	if err := s.webhooks.Authorize(p); err != nil {
		return err
	}
	var req createWebhookRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	kinds := make([]notify.Kind, len(req.Kinds))
	for i, k := range req.Kinds {
		kinds[i] = notify.Kind(k)
	}
	w, err := s.webhooks.Create(c.Request().Context(), p, notify.CreateInput{URL: req.URL, Description: req.Description, Kinds: kinds})
	if err != nil {
		return err
	}
	resp := toWebhookResponse(w)
	resp.Secret = w.Secret
	c.Response().Header().Set(echo.HeaderLocation, "/v1/webhooks/"+w.ID)
	noStore(c) // the body holds the secret
	return c.JSON(http.StatusCreated, resp)
}

// handleDeleteWebhook handles DELETE /v1/webhooks/:id (admins).
func (s *Server) handleDeleteWebhook(c *echo.Context) error {
	if err := s.webhooks.Delete(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleListDeliveries handles GET /v1/webhooks/:id/deliveries (admins): deliveries in event
// order, each with its state and attempts; next is the cursor of the following page.
func (s *Server) handleListDeliveries(c *echo.Context) error {
	p := principal(c)
	if err := s.webhooks.Authorize(p); err != nil {
		return err
	}
	limit, err := queryLimit(c, 50, maxDeliveriesPage)
	if err != nil {
		return err
	}
	ds, err := s.webhooks.Deliveries(c.Request().Context(), p, c.Param("id"), c.QueryParam("after"), limit+1)
	if err != nil {
		return err
	}
	var resp deliveryListResponse
	if len(ds) > limit {
		ds = ds[:limit]
		resp.Next = ds[limit-1].Event
	}
	resp.Deliveries = make([]deliveryResponse, len(ds))
	for i, d := range ds {
		r := deliveryResponse{Event: d.Event, Kind: string(d.Kind), State: d.State, Attempts: make([]deliveryAttemptResponse, len(d.Attempts))}
		for j, a := range d.Attempts {
			r.Attempts[j] = deliveryAttemptResponse{Attempt: a.N, Status: a.Status, Code: a.Code, Error: a.Error, At: a.At.UTC(),
				Finished: timeOrNil(a.Finished), LeaseUntil: a.LeaseUntil.UTC(), RetryAt: timeOrNil(a.RetryAt)}
		}
		resp.Deliveries[i] = r
	}
	return c.JSON(http.StatusOK, resp)
}

// notifyProblem renders the webhook service's field errors.
func notifyProblem(err error) (Problem, bool) {
	var ve *notify.ValidationError
	if !errors.As(err, &ve) {
		return Problem{}, false
	}
	p := problemFor(kindValidation, "the webhook has invalid fields")
	for _, f := range ve.Problems {
		p.Errors = append(p.Errors, FieldError{Field: f.Field, Reason: f.Reason})
	}
	return p, true
}
