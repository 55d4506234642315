package api_test

// OWASP API Security Top 10 (2023), API7: server-side request forgery. The one place the
// service connects to a URL it was given is a webhook delivery (source URLs are stored, never
// fetched). A webhook URL must reach a public address: loopback, private, link-local (the cloud
// metadata service), NAT64 and other special-purpose addresses are refused at registration
// (names resolved then) and on every connection (names may resolve elsewhere later); redirects
// are not followed (owasp_api10_unsafe_consumption_test.go).

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/notify"
)

// internalURLs are addresses inside the service's network, in the forms that slip past naive
// checks (IPv4-mapped IPv6, NAT64, the "this network" and carrier-grade NAT ranges).
var internalURLs = []string{
	"https://169.254.169.254/latest/meta-data/",
	"https://[::ffff:169.254.169.254]/latest/meta-data/",
	"https://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
	"https://100.100.100.200/latest/meta-data/",
	"https://10.0.0.5/hook",
	"https://172.16.3.4/hook",
	"https://192.168.1.1/hook",
	"https://[fd00::1]/hook",
	"https://[fe80::1]/hook",
	"https://0.0.0.0/hook",
	"https://[::]/hook",
	"https://224.0.0.1/hook",
}

// TestWebhookRegistrationRefusesInternalAddresses: through the API, every internal address is
// refused with 400 naming url, and nothing is stored.
func TestWebhookRegistrationRefusesInternalAddresses(t *testing.T) {
	env := apitest.New(t)
	adm, _ := env.As(auth.RoleAdmin)
	before := storeDump(t, env)
	for _, u := range internalURLs {
		r := adm.Do(apitest.Request{Method: "POST", Path: "/v1/webhooks", Body: map[string]any{"url": u}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"url"`) || !strings.Contains(string(r.Body), "not a public address") {
			t.Errorf("%s: %d %s; want 400 naming url", u, r.Status, r.Body)
		}
	}
	if after := storeDump(t, env); after != before {
		t.Fatal("a refused webhook changed the store")
	}
	if r := adm.Do(apitest.Request{Method: "POST", Path: "/v1/webhooks", Body: map[string]any{"url": "https://8.8.8.8/hook"}}); r.Status != http.StatusCreated {
		t.Fatalf("a public address: %d %s", r.Status, r.Body)
	}
}

// TestProductionRefusesLoopbackWebhooks: in production this host is not reachable either, by
// address or by a name that resolves to it, unless the operator lists it.
func TestProductionRefusesLoopbackWebhooks(t *testing.T) {
	ctx := context.Background()
	admin := auth.Principal{UserID: "u_admin", Admin: true}
	for _, allow := range [][]netip.Prefix{nil, {netip.MustParsePrefix("127.0.0.1/32")}} {
		a, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: apitest.TestKeys,
			Production: true, Notify: app.NotifyOptions{AllowNetworks: allow}})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"http://127.0.0.1:9/hook", "http://[::1]:9/hook", "http://localhost:9/hook", "http://[::ffff:127.0.0.1]:9/hook"} {
			_, err := a.Webhooks.Create(ctx, admin, notify.CreateInput{URL: u})
			var ve *notify.ValidationError
			refused := errors.As(err, &ve) && ve.Problems[0].Field == "url"
			// Listing 127.0.0.1/32 allows that address (and names resolving only to it), not ::1.
			wantRefused := allow == nil || strings.Contains(u, "[::1]") || (strings.Contains(u, "localhost") && resolvesToIPv6Loopback())
			if refused != wantRefused {
				t.Errorf("allow %v, %s: %v; want refused %v", allow, u, err, wantRefused)
			}
		}
	}
}

func resolvesToIPv6Loopback() bool {
	addrs, _ := net.DefaultResolver.LookupNetIP(context.Background(), "ip", "localhost")
	for _, a := range addrs {
		if a.Is6() && !a.Is4In6() {
			return true
		}
	}
	return false
}

// TestWebhookDeliveryConnectsOnlyWithinReach: a webhook that passed registration but whose
// address is no longer allowed (a name re-pointed inward, or a narrower policy after a restart)
// is refused when the delivery connects: the receiver is never reached and the attempt records
// why.
func TestWebhookDeliveryConnectsOnlyWithinReach(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorld(t, env)
	var hits atomic.Int64
	inside := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(inside.Close)
	id := createWebhook(t, w.adm, inside.URL+"/hook")
	env.App.Notifier().Reach = notify.Reach{} // production's policy from here on
	dispatch(t, env, "one", time.Hour)
	w.submit(t)
	a := firstAttempt(t, w.adm, id)
	if a.Status != "failed" || !strings.Contains(a.Error, "not a public address") || hits.Load() != 0 {
		t.Fatalf("attempt %+v, receiver reached %d times; want failed, not a public address, never reached", a, hits.Load())
	}
}

type deliveryAttempt struct {
	Attempt int
	Status  string
	Code    int
	Error   string
}

// createWebhook registers url through the API.
func createWebhook(t *testing.T, adm *apitest.Client, url string) string {
	t.Helper()
	r := adm.Do(apitest.Request{Method: "POST", Path: "/v1/webhooks", Body: map[string]any{"url": url}})
	want(t, r, http.StatusCreated, "create webhook")
	id, _ := r.JSON(t)["id"].(string)
	return id
}

// firstAttempt waits until the webhook's first delivery attempt has finished, and returns it.
func firstAttempt(t *testing.T, adm *apitest.Client, id string) deliveryAttempt {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var page struct {
			Deliveries []struct{ Attempts []deliveryAttempt }
		}
		r := adm.Do(apitest.Request{Method: "GET", Path: "/v1/webhooks/" + id + "/deliveries"})
		want(t, r, http.StatusOK, "deliveries")
		r.Decode(t, &page)
		if len(page.Deliveries) > 0 && len(page.Deliveries[0].Attempts) > 0 && page.Deliveries[0].Attempts[0].Status != "sending" {
			return page.Deliveries[0].Attempts[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished attempt after a minute: %s", r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
