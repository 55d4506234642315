package main

import (
	"flag"
	"fmt"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/app"
)

// serveConfig is every setting of `serve`. Each has a flag and an environment variable; a flag
// given on the command line wins. This table is the one place they are documented (README's
// configuration section is generated from the same names).
type serveConfig struct {
	Addr            string
	MongoURI        string
	Database        string
	DataDir         string
	StoreAddr       string
	Env             string
	LogFormat       string
	LogLevel        string
	JWTKeys         string
	JWTIssuer       string
	AccessTTL       time.Duration
	BodyLimit       int64
	ShutdownTimeout time.Duration
	SweepInterval   time.Duration
	StoreTimeout    time.Duration
	CacheBytes      int64
	CORSOrigins     []string
	MetricsAddr     string
	AllowEmbedded   bool
	Demo            bool
	SMTPHost        string
	SMTPPort        int
	SMTPUsername    string
	SMTPPassword    string
	SMTPFrom        string
	SMTPTLS         string
	MailLinkBase    string
	MailLanguage    string
	// Notifications (app/notify.go, docs/notifications.md).
	WebhookWorkers   int
	WebhookPoll      time.Duration
	WebhookTimeout   time.Duration
	WebhookAllowHTTP bool
	// Load shedding (api/shed.go).
	Shed api.ShedLimits
	// WebhookAllowNetworks is nil unless set: the app then picks by environment.
	WebhookAllowNetworks []netip.Prefix
}

type setting struct {
	flag, env, def, usage string
	set                   func(string) error
}

func (c *serveConfig) settings() []setting {
	str := func(p *string) func(string) error { return func(v string) error { *p = v; return nil } }
	dur := func(p *time.Duration) func(string) error {
		return func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a positive duration such as 15m, got %q", v)
			}
			*p = d
			return nil
		}
	}
	return []setting{
		{"addr", "EXPERTSURVEY_ADDR", "127.0.0.1:8080", "HTTP listen address (host:port; port 0 picks a free one)", str(&c.Addr)},
		{"mongodb-uri", "MONGODB_URI", "", "MongoDB connection string; empty starts the embedded store", str(&c.MongoURI)},
		{"database", "EXPERTSURVEY_DATABASE", "expertsurvey", "database name", str(&c.Database)},
		{"data-dir", "EXPERTSURVEY_DATA_DIR", "./data", "directory of the embedded store's files", str(&c.DataDir)},
		{"store-addr", "EXPERTSURVEY_STORE_ADDR", mongodb.EmbeddedSocket, "where the embedded store listens: socket (a Unix socket in the data directory only this user can open) or host:port, so that a second instance can share it through MONGODB_URI (the store has no authentication: any local process can then reach it)", str(&c.StoreAddr)},
		{"env", "EXPERTSURVEY_ENV", "development", "development or production (production requires JWT keys and logs JSON)", str(&c.Env)},
		{"log-format", "EXPERTSURVEY_LOG_FORMAT", "", "text or json (default: json in production, text otherwise)", str(&c.LogFormat)},
		{"log-level", "EXPERTSURVEY_LOG_LEVEL", "info", "debug, info, warn or error", str(&c.LogLevel)},
		{"jwt-keys", "EXPERTSURVEY_JWT_KEYS", "", "signing keys as kid:base64key[,kid:base64key...]; the first signs, all verify; at least 32 bytes each", str(&c.JWTKeys)},
		{"jwt-issuer", "EXPERTSURVEY_JWT_ISSUER", "expertsurvey", "the iss and aud of access tokens", str(&c.JWTIssuer)},
		{"access-ttl", "EXPERTSURVEY_ACCESS_TTL", "15m", "lifetime of access tokens", dur(&c.AccessTTL)},
		{"body-limit", "EXPERTSURVEY_BODY_LIMIT", "1048576", "largest request body in bytes (file imports have their own, larger limit)", func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("want a positive number of bytes, got %q", v)
			}
			c.BodyLimit = n
			return nil
		}},
		{"shutdown-timeout", "EXPERTSURVEY_SHUTDOWN_TIMEOUT", "30s", "how long shutdown waits for in-flight requests", dur(&c.ShutdownTimeout)},
		{"sweep-interval", "EXPERTSURVEY_SWEEP_INTERVAL", "10m", "how often expired tokens and login failures are removed", dur(&c.SweepInterval)},
		{"store-timeout", "EXPERTSURVEY_STORE_TIMEOUT", "10s", "longest time one store operation may take (an unreachable store fails after 1 s regardless)", dur(&c.StoreTimeout)},
		{"cache-bytes", "EXPERTSURVEY_CACHE_BYTES", "134217728", "memory budget of the sheet cache in bytes (128 MiB: with the rest of the process, under a 512 MiB pod limit)", func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("want a positive number of bytes, got %q", v)
			}
			c.CacheBytes = n
			return nil
		}},
		{"smtp-host", "EXPERTSURVEY_SMTP_HOST", "", "SMTP server that delivers invitations and password resets; empty logs their links instead", str(&c.SMTPHost)},
		{"smtp-port", "EXPERTSURVEY_SMTP_PORT", "0", "SMTP port (0: 587 with starttls, 465 with tls)", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 65535 {
				return fmt.Errorf("want a port number, got %q", v)
			}
			c.SMTPPort = n
			return nil
		}},
		{"smtp-username", "EXPERTSURVEY_SMTP_USERNAME", "", "SMTP user (PLAIN authentication, over TLS only); empty sends without authenticating", str(&c.SMTPUsername)},
		{"smtp-password", "EXPERTSURVEY_SMTP_PASSWORD", "", "SMTP password; prefer the environment variable to the flag, which other users can see", str(&c.SMTPPassword)},
		{"smtp-from", "EXPERTSURVEY_SMTP_FROM", "", "sender address of the messages, e.g. Survey <survey@example.org>", str(&c.SMTPFrom)},
		{"smtp-tls", "EXPERTSURVEY_SMTP_TLS", "starttls", "starttls (required upgrade) or tls (implicit TLS); plain text is not offered", str(&c.SMTPTLS)},
		{"mail-link-base", "EXPERTSURVEY_MAIL_LINK_BASE", "http://127.0.0.1:8080/accept-invitation?token=", "where a token is redeemed: the link in a message is this followed by the token", str(&c.MailLinkBase)},
		{"mail-language", "EXPERTSURVEY_MAIL_LANGUAGE", "en", "language of the messages to people of no round: en or fr (others fall back to en); the others get their instruments' languages", str(&c.MailLanguage)},
		{"cors-origins", "EXPERTSURVEY_CORS_ORIGINS", "", "origins (scheme://host[:port], comma-separated) whose browser pages may call the API; empty allows none", func(v string) error {
			c.CORSOrigins = nil
			for _, o := range strings.Split(v, ",") {
				o = strings.TrimSpace(o)
				if o == "" {
					continue
				}
				u, err := url.Parse(o)
				if o == "*" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
					return fmt.Errorf("want origins such as https://survey.example.org, got %q", o)
				}
				c.CORSOrigins = append(c.CORSOrigins, u.Scheme+"://"+u.Host)
			}
			return nil
		}},
		{"metrics-addr", "EXPERTSURVEY_METRICS_ADDR", "", "listen address of /metrics on its own (host:port); empty serves it on the API address in development and on 127.0.0.1:9090 in production", str(&c.MetricsAddr)},
		{"allow-embedded-store", "EXPERTSURVEY_ALLOW_EMBEDDED_STORE", "false", "let production run on the embedded store (one process, no replication; refused otherwise)", func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			c.AllowEmbedded = b
			return nil
		}},
		{"demo", "EXPERTSURVEY_DEMO", "false", "load the demo questionnaire, round and users at start (idempotent)", func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			c.Demo = b
			return nil
		}},
		// --- load shedding ---
		{"max-reads", "EXPERTSURVEY_MAX_READS", "auto", "reads (GET) served at once, as many more wait briefly, the rest get 503 with Retry-After; auto is 4 x GOMAXPROCS, 0 unbounded", shedLimit(&c.Shed.Reads, api.DefaultShedLimits().Reads)},
		{"max-writes", "EXPERTSURVEY_MAX_WRITES", "auto", "writes served at once, apart from reads; auto is 2 x GOMAXPROCS, 0 unbounded", shedLimit(&c.Shed.Writes, api.DefaultShedLimits().Writes)},
		{"shed-wait", "EXPERTSURVEY_SHED_WAIT", api.DefaultShedLimits().Wait.String(), "how long a request waits for a slot before it is shed", dur(&c.Shed.Wait)},
		{"max-per-client", "EXPERTSURVEY_MAX_PER_CLIENT", strconv.Itoa(api.DefaultShedLimits().PerClient), "requests of one client (token, or address without one) at once; more get 429 with Retry-After; 0 unbounded", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("want a number of requests (0: unbounded), got %q", v)
			}
			c.Shed.PerClient = n
			return nil
		}},
		// --- notifications ---
		{"webhook-workers", "EXPERTSURVEY_WEBHOOK_WORKERS", "4", "webhook deliveries run at once on this instance; 0 delivers nothing here (other instances deliver)", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 256 {
				return fmt.Errorf("want a number from 0 to 256, got %q", v)
			}
			c.WebhookWorkers = n
			return nil
		}},
		{"webhook-poll", "EXPERTSURVEY_WEBHOOK_POLL", "2s", "how often new log entries and due retries are read for webhooks", dur(&c.WebhookPoll)},
		{"webhook-timeout", "EXPERTSURVEY_WEBHOOK_TIMEOUT", "10s", "longest time one webhook delivery attempt may take", dur(&c.WebhookTimeout)},
		{"webhook-allow-http", "EXPERTSURVEY_WEBHOOK_ALLOW_HTTP", "false", "accept plain-http webhook URLs to hosts other than localhost", func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			c.WebhookAllowHTTP = b
			return nil
		}},
		{"webhook-allow-networks", "EXPERTSURVEY_WEBHOOK_ALLOW_NETWORKS", "", "comma-separated networks (10.0.0.0/8, 127.0.0.1/32) that webhooks may reach besides public addresses; empty allows loopback in development, nothing in production", func(v string) error {
			if v == "" {
				c.WebhookAllowNetworks = nil
				return nil
			}
			c.WebhookAllowNetworks = []netip.Prefix{}
			for part := range strings.SplitSeq(v, ",") {
				p, err := netip.ParsePrefix(strings.TrimSpace(part))
				if err != nil {
					return fmt.Errorf("want networks such as 10.0.0.0/8, got %q", part)
				}
				c.WebhookAllowNetworks = append(c.WebhookAllowNetworks, p.Masked())
			}
			return nil
		}},
	}
}

// shedLimit parses a number of requests, 0 for unbounded, or auto: the figure
// api.DefaultShedLimits sizes for this machine.
func shedLimit(p *int, auto int) func(string) error {
	return func(v string) error {
		if v == "auto" {
			*p = auto
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want auto or a number of requests (0: unbounded), got %q", v)
		}
		*p = n
		return nil
	}
}

// boolFlags are given bare on the command line (--demo), or as --demo=false.
var boolFlags = map[string]bool{"demo": true, "allow-embedded-store": true}

// parseServe fills the config from defaults, then the environment, then flags.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := map[string]*string{}
	for _, s := range c.settings() {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		if boolFlags[s.flag] {
			values[s.flag] = new(string)
			*values[s.flag] = v
			fs.BoolFunc(s.flag, s.usage+" (env "+s.env+")", func(b string) error { *values[s.flag] = b; return nil })
			continue
		}
		values[s.flag] = fs.String(s.flag, v, s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	for _, s := range c.settings() {
		if err := s.set(*values[s.flag]); err != nil {
			return nil, fmt.Errorf("--%s / %s: %w", s.flag, s.env, err)
		}
	}
	switch c.Env {
	case "development", "production":
	default:
		return nil, fmt.Errorf("--env / EXPERTSURVEY_ENV: want development or production, got %q", c.Env)
	}
	if c.Demo && c.Env == "production" {
		// Demo users share a published password: never in production.
		return nil, fmt.Errorf("--demo / EXPERTSURVEY_DEMO: demo data (with its published password) is refused in production")
	}
	if c.Env == "production" && c.MongoURI == "" && !c.AllowEmbedded {
		// The embedded store is one process without replication, and its wire port on loopback
		// has no authentication: any local process could read password hashes.
		return nil, fmt.Errorf("MONGODB_URI / --mongodb-uri: production needs a MongoDB deployment; the embedded store is refused unless --allow-embedded-store / EXPERTSURVEY_ALLOW_EMBEDDED_STORE is set")
	}
	if c.MetricsAddr == "" && c.Env == "production" {
		c.MetricsAddr = "127.0.0.1:9090"
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
		if c.Env == "production" {
			c.LogFormat = "json"
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("--log-format / EXPERTSURVEY_LOG_FORMAT: want text or json, got %q", c.LogFormat)
	}
	return c, nil
}

// notifyOptions maps the webhook settings onto the app's (workers 0 turns delivery off).
func notifyOptions(c *serveConfig) app.NotifyOptions {
	workers := c.WebhookWorkers
	if workers == 0 {
		workers = -1
	}
	return app.NotifyOptions{Workers: workers, Poll: c.WebhookPoll, Timeout: c.WebhookTimeout, AllowHTTP: c.WebhookAllowHTTP,
		AllowNetworks: c.WebhookAllowNetworks}
}
