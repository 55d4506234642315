package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var metricsAddrRe = regexp.MustCompile(`metrics on their own address"? addr=(http://\S+/metrics)`)

// TestMetricsOnTheirOwnAddress: with --metrics-addr, /metrics answers there and not on the API
// address, so that whoever reaches the API cannot read them.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	p := startServer(t, nil, "--data-dir", t.TempDir(), "--metrics-addr", "127.0.0.1:0")
	waitFor(t, p.base+"/readyz", http.StatusOK)
	m := metricsAddrRe.FindStringSubmatch(p.logs.String())
	if m == nil {
		t.Fatalf("no metrics address in the logs:\n%s", p.logs)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "expertsurvey_") {
		t.Fatalf("metrics address: %d %.200s", resp.StatusCode, b)
	}
	resp, err = http.Get(p.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the API address: %d, want 404", resp.StatusCode)
	}
}

// TestProductionDefaults: production refuses the embedded store unless told otherwise, and puts
// /metrics on a loopback address of its own by default.
func TestProductionDefaults(t *testing.T) {
	keys := "k1:" + strings.Repeat("QUJD", 11)
	env := func(k string) string {
		return map[string]string{"EXPERTSURVEY_ENV": "production", "EXPERTSURVEY_JWT_KEYS": keys}[k]
	}
	err := run(context.Background(), []string{"serve", "--data-dir", t.TempDir()}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--allow-embedded-store") {
		t.Fatalf("production on the embedded store: %v", err)
	}
	cfg, err := parseServe([]string{"--allow-embedded-store"}, env, io.Discard)
	if err != nil || !cfg.AllowEmbedded || cfg.MetricsAddr != "127.0.0.1:9090" {
		t.Fatalf("production with --allow-embedded-store: %+v %v", cfg, err)
	}
	cfg, err = parseServe([]string{"--metrics-addr", "0.0.0.0:9100", "--mongodb-uri", "mongodb://db.example.org/"}, env, io.Discard)
	if err != nil || cfg.MetricsAddr != "0.0.0.0:9100" || cfg.AllowEmbedded {
		t.Fatalf("production with MongoDB: %+v %v", cfg, err)
	}
	cfg, err = parseServe(nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MetricsAddr != "" {
		t.Fatalf("development: %+v %v", cfg, err)
	}
}
