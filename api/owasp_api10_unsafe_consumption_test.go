package api_test

// OWASP API Security Top 10 (2023), API10: unsafe consumption of APIs. The service consumes one
// kind of third-party answer: a webhook receiver's. Only its status counts; a receiver that
// redirects is not followed (the delivery fails), one that answers without end is read for at
// most notify.MaxResponseBody bytes, and one that is slow to answer or trickles its body is cut
// off at the attempt's timeout, so that no receiver holds a worker or memory.

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/notify"
)

// TestHostileWebhookReceivers registers four hostile receivers on one review (one world, one
// notification, so the cost is one review's):
//   - a redirect (307) to another address (one the reach allows, so that only the redirect rule
//     is tested): the delivery fails with 307 and the target is never reached;
//   - a 200 with a body of a gigabyte: delivered, and the service stops reading after
//     notify.MaxResponseBody (the receiver writes only what the connection buffers hold before
//     the service hangs up);
//   - a receiver that never answers: failed at the attempt's timeout (300 ms here);
//   - headers, then a body trickled a byte every 10 ms forever: counted by its status, the body
//     cut off at the timeout. Neither of the last two holds a worker: both attempts are recorded
//     while the receivers would still be going.
func TestHostileWebhookReceivers(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorld(t, env)
	stop := make(chan struct{})
	serve := func(h http.HandlerFunc) *httptest.Server {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}

	var targetHits atomic.Int64
	target := serve(func(http.ResponseWriter, *http.Request) { targetHits.Add(1) })
	bouncer := serve(http.RedirectHandler(target.URL+"/inside", http.StatusTemporaryRedirect).ServeHTTP)

	var written atomic.Int64
	chunk := []byte(strings.Repeat("x", 32<<10))
	flood := serve(func(rw http.ResponseWriter, _ *http.Request) {
		rw.WriteHeader(http.StatusOK)
		for range (1 << 30) / len(chunk) {
			n, err := rw.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	silent := serve(func(http.ResponseWriter, *http.Request) { <-stop })
	trickle := serve(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusOK)
		for {
			if _, err := rw.Write([]byte("x")); err != nil {
				return
			}
			rw.(http.Flusher).Flush()
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})

	// Registered after the servers, so run before their Close (which waits for handlers).
	t.Cleanup(func() { close(stop) })
	ids := map[string]string{}
	for name, srv := range map[string]*httptest.Server{"bouncer": bouncer, "flood": flood, "silent": silent, "trickle": trickle} {
		ids[name] = createWebhook(t, w.adm, srv.URL+"/hook")
	}
	env.App.Notifier().Timeout = 300 * time.Millisecond
	dispatch(t, env, "one", time.Hour)
	w.submit(t)

	if a := firstAttempt(t, w.adm, ids["bouncer"]); a.Status != "failed" || a.Code != http.StatusTemporaryRedirect || targetHits.Load() != 0 {
		t.Errorf("redirect: attempt %+v, target reached %d times; want failed with 307, never reached", a, targetHits.Load())
	}
	if a := firstAttempt(t, w.adm, ids["flood"]); a.Status != "delivered" {
		t.Errorf("gigabyte answer: attempt %+v; want delivered", a)
	}
	// The limit read is 64 KiB; kernel socket buffers on loopback hold a few MiB more.
	if n := written.Load(); n > 64<<20 {
		t.Errorf("the receiver wrote %d bytes before the service hung up; it reads at most %d", n, notify.MaxResponseBody)
	}
	t.Logf("the flooding receiver wrote %d KiB of its 1 GiB answer before the service hung up", written.Load()>>10)
	if a := firstAttempt(t, w.adm, ids["silent"]); a.Status != "failed" || !strings.Contains(a.Error, "timeout") && !strings.Contains(a.Error, "deadline") {
		t.Errorf("silent receiver: %+v; want failed at the deadline", a)
	}
	if a := firstAttempt(t, w.adm, ids["trickle"]); a.Status != "delivered" {
		t.Errorf("trickling receiver: %+v; want delivered by its status, the body cut off", a)
	}
}
