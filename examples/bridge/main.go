// Command bridge is a WHMCS-style HTTP JSON service over the ispkit
// provisioning engine: a billing system that is not written in Go (WHMCS,
// or your own) creates, suspends, unsuspends and terminates dedicated
// servers and hosting accounts, changes their password and gets panel
// log-in links with plain HTTP calls, and follows the engine's progress as
// server-sent events. whmcs/modules/servers/ispkitbridge is a WHMCS server
// module that calls it.
//
// With no flags it starts fake DCImanager 5, IPmanager and ISPmanager panels
// in-process (four E3-16GB servers parked on private addresses, a public IP
// group, an account template "Site hosting") with two plans — 1 "Dedicated
// E3-16GB", 2 "Hosting Start" — keeps its state in memory, generates a
// bearer token and prints it with a curl example:
//
//	go run ./examples/bridge
//	go run ./examples/bridge -listen 127.0.0.1:9000 -store bridge.db   # durable SQLite store
//
// Against real panels (this provisions real servers and accounts), with the
// plans in a JSON file (plans.sample.json shows the format) and the token
// and passwords in the environment:
//
//	BRIDGE_TOKEN=… DCI_PASSWORD=… IPMGR_PASSWORD=… ISP_PASSWORD=… go run ./examples/bridge \
//	    -listen :8443 -tls-cert cert.pem -tls-key key.pem -store /var/lib/ispkit/bridge.db \
//	    -dci https://dci.example.com:1500/dcimgr -dci-user billing \
//	    -ipmgr https://ip.example.com:1500/ipmgr -ipmgr-user billing \
//	    -isp https://host.example.com:1500/ispmgr -isp-user root \
//	    -plans plans.json
//
// # The API
//
// Every call except GET /v1/openapi.json needs "Authorization: Bearer
// <token>". Bodies and answers are JSON; errors are {"error": {"code",
// "message", "field", "operation_id"}} with a stable code (openapi.json
// lists them).
//
//	GET  /v1/openapi.json                      the OpenAPI 3 document of this API
//	GET  /v1/plans                             what can be ordered
//	GET  /v1/services/{id}                     status, properties, last operation
//	POST /v1/services/{id}/create              {"plan", "owner", "password", "domain", "account_id", "options"}
//	POST /v1/services/{id}/suspend
//	POST /v1/services/{id}/unsuspend
//	POST /v1/services/{id}/terminate
//	POST /v1/services/{id}/change-password     {"password"}
//	POST /v1/services/{id}/login-link          one-time panel log-in link
//	GET  /v1/operations/{id}                   one operation
//	GET  /v1/events                            progress as text/event-stream (?service_id=)
//
// Actions record an engine operation and answer at once (202 while it
// runs, 200 when finished); ?wait=N waits up to N seconds for it first.
// They are idempotent by service id: a repeated create returns the same
// operation, a suspend of a suspended service answers 200 without doing
// anything, and so on (see actions.go). A create's order options must be
// among the plan's choices (see Choices).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // -postgres
	_ "modernc.org/sqlite"             // -store

	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, nil)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		// -h asked for the help it got: success.
	default:
		fmt.Fprintln(os.Stderr, "bridge: error:", err)
		os.Exit(1)
	}
}

type options struct {
	listen, token    string
	tlsCert, tlsKey  string
	panels           panelFlags
	plans            string
	store, postgres  string
	workers          int
	installTimeout   time.Duration
	maxWait          time.Duration
	verbose          bool
	fakeInstall      time.Duration
	fakePower        time.Duration
	generatedToken   bool
	fakes            bool
	tokenFromCommand bool
}

func parseFlags(args []string, out io.Writer, getenv func(string) string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	fs.StringVar(&o.token, "token", "", "bearer token the callers must send, at least 16 characters (better: $BRIDGE_TOKEN; default with the fakes: generated)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM file; with -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "private key of -tls-cert (PEM file)")
	fs.StringVar(&o.panels.dci.url, "dci", "", "DCImanager 5 entry point, e.g. https://dci.example.com:1500/dcimgr (default: fake panels in-process)")
	fs.StringVar(&o.panels.dci.user, "dci-user", "", "DCImanager administrator login")
	fs.StringVar(&o.panels.dci.password, "dci-password", "", "DCImanager password (better: $DCI_PASSWORD)")
	fs.StringVar(&o.panels.ipm.url, "ipmgr", "", "IPmanager entry point, e.g. https://ip.example.com:1500/ipmgr (optional, with -dci)")
	fs.StringVar(&o.panels.ipm.user, "ipmgr-user", "", "IPmanager login")
	fs.StringVar(&o.panels.ipm.password, "ipmgr-password", "", "IPmanager password (better: $IPMGR_PASSWORD)")
	fs.StringVar(&o.panels.parking, "ipmgr-parking", "parking", "IPmanager group of parked (free) servers; empty: no address swap")
	fs.StringVar(&o.panels.public, "ipmgr-public", "public", "IPmanager group customer addresses come from")
	fs.StringVar(&o.panels.isp.url, "isp", "", "ISPmanager entry point, e.g. https://host.example.com:1500/ispmgr")
	fs.StringVar(&o.panels.isp.user, "isp-user", "", "ISPmanager administrator login")
	fs.StringVar(&o.panels.isp.password, "isp-password", "", "ISPmanager password (better: $ISP_PASSWORD)")
	fs.BoolVar(&o.panels.insecure, "insecure", false, "skip TLS certificate checks of the panels (self-signed :1500)")
	fs.Float64Var(&o.panels.rate, "rate", 0, "panel requests per second per panel (default 10 for real panels, 200 for the fakes)")
	fs.StringVar(&o.plans, "plans", "", "JSON file of the plans (required with real panels; see plans.sample.json)")
	fs.StringVar(&o.store, "store", "", "SQLite file of the engine's state (default: memory, lost on exit)")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL of the engine's state, shared by several bridges")
	fs.IntVar(&o.workers, "workers", 8, "operations run at once")
	fs.DurationVar(&o.installTimeout, "install-timeout", 0, "how long an OS install may take (default 720s; 60s with the fakes)")
	fs.DurationVar(&o.maxWait, "max-wait", defaultMaxWait, "the longest ?wait= a call may ask for")
	fs.BoolVar(&o.verbose, "v", false, "also log every panel call (secrets redacted)")
	fs.DurationVar(&o.fakeInstall, "fake-install", 3*time.Second, "how long an OS install takes in the fake DCImanager")
	fs.DurationVar(&o.fakePower, "fake-power", 300*time.Millisecond, "how long power-on takes in the fake DCImanager")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "bridge serves a WHMCS-style HTTP JSON API (create, suspend, unsuspend, terminate, change password, log-in link, status, progress events) over the ispkit provisioning engine; without -dci/-isp against fake panels started in-process.\n\nUsage: bridge [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { o.tokenFromCommand = o.tokenFromCommand || f.Name == "token" })
	env := func(v *string, name string) {
		if *v == "" {
			*v = getenv(name)
		}
	}
	env(&o.token, "BRIDGE_TOKEN")
	env(&o.panels.dci.password, "DCI_PASSWORD")
	env(&o.panels.ipm.password, "IPMGR_PASSWORD")
	env(&o.panels.isp.password, "ISP_PASSWORD")
	o.fakes = o.panels.dci.url == "" && o.panels.isp.url == ""
	switch {
	case o.store != "" && o.postgres != "":
		return nil, errors.New("use -store or -postgres, not both")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return nil, errors.New("-tls-cert and -tls-key go together")
	case o.workers < 1:
		return nil, errors.New("-workers must be at least 1")
	case o.maxWait < time.Second:
		return nil, errors.New("-max-wait must be at least 1s")
	case o.fakes && (o.panels.ipm.url != "" || o.plans != ""):
		return nil, errors.New("-ipmgr and -plans need -dci or -isp (without them the bridge uses its fake panels)")
	case !o.fakes && o.plans == "":
		return nil, errors.New("real panels need -plans: a JSON file of the plans (see examples/bridge/plans.sample.json)")
	case o.panels.ipm.url != "" && o.panels.dci.url == "":
		return nil, errors.New("-ipmgr needs -dci")
	}
	for _, p := range []struct {
		name string
		l    panelLogin
	}{{"dci", o.panels.dci}, {"ipmgr", o.panels.ipm}, {"isp", o.panels.isp}} {
		if p.l.url != "" && (p.l.user == "" || p.l.password == "") {
			return nil, fmt.Errorf("-%s needs -%s-user and a password (-%s-password or the environment)", p.name, p.name, p.name)
		}
	}
	if o.token == "" {
		if !o.fakes {
			return nil, errors.New("real panels need a token: set $BRIDGE_TOKEN (or -token)")
		}
		o.token, o.generatedToken = rand.Text(), true
	}
	if len(o.token) < 16 {
		return nil, errors.New("the token must be at least 16 characters")
	}
	if o.panels.rate == 0 {
		o.panels.rate = 10
		if o.fakes {
			o.panels.rate = 200
		}
	}
	if o.installTimeout == 0 && o.fakes {
		o.installTimeout = 60 * time.Second
	}
	return o, nil
}

// run starts the bridge and serves until ctx ends. ready, when set, is
// called with the API's base URL and token once it accepts calls.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, ready func(baseURL, token string)) (err error) {
	o, err := parseFlags(args, stdout, getenv)
	if err != nil {
		return err
	}
	// One log: the engine's steps and one line per API request; with -v
	// also every panel call (the panel clients redact secrets).
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	panelLevel := slog.LevelWarn
	if o.verbose {
		panelLevel = slog.LevelDebug
	}
	panelLogger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: panelLevel}))

	setup := engineSetup{panels: o.panels, logger: logger, panelLogger: panelLogger, workers: o.workers,
		installTimeout: o.installTimeout}
	if o.fakes {
		fakes, err := startFakes(fakeTiming{install: o.fakeInstall, power: o.fakePower, ports: o.fakePower / 4})
		if err != nil {
			return err
		}
		defer fakes.Close()
		rate := o.panels.rate
		setup.panels = fakes.panels()
		setup.panels.rate = rate
		setup.plans = defaultPlans
		setup.reach = fakes.reachability
		setup.poll = 100 * time.Millisecond
	} else if setup.plans, err = loadPlans(o.plans); err != nil {
		return err
	}

	switch {
	case o.store != "":
		s, err := sqlstore.Open(ctx, "sqlite", o.store, sqlstore.SQLite)
		if err != nil {
			return fmt.Errorf("open SQLite store %s: %w", o.store, err)
		}
		defer s.Close()
		setup.store = s
	case o.postgres != "":
		s, err := sqlstore.Open(ctx, "pgx", o.postgres, sqlstore.Postgres)
		if err != nil {
			return fmt.Errorf("open PostgreSQL store: %w", err)
		}
		defer s.Close()
		setup.store = s
	default:
		setup.store = memstore.New()
	}

	eng, cat, err := newEngine(setup)
	if err != nil {
		return err
	}
	pe := newProvisionEngine(eng, cat)
	a, err := newAPI(apiConfig{Engine: pe, Token: o.token, Logger: logger, MaxWait: o.maxWait, Choices: planChoices(setup.plans)})
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: o.maxWait + 30*time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	srv.RegisterOnShutdown(a.Close) // ends the event streams

	runCtx, stopEngine := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var engineErr error
	wg.Go(func() { engineErr = eng.Run(runCtx) })
	serveErr := make(chan error, 1)
	wg.Go(func() {
		if o.tlsCert != "" {
			serveErr <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			serveErr <- srv.Serve(ln)
		}
	})
	defer func() {
		shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutCtx)
		stopEngine()
		wg.Wait()
		if err == nil && engineErr != nil {
			err = fmt.Errorf("engine: %w", engineErr)
		}
	}()

	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	base := scheme + "://" + ln.Addr().String()
	plans, _ := pe.Plans(ctx)
	banner(stdout, o, base, plans, setup.panels)
	if ready != nil {
		ready(base, o.token)
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping: unfinished operations stay in the store and continue at the next start")
		return nil
	case err := <-serveErr:
		return err
	}
}

// banner prints where the bridge listens and how to call it.
func banner(w io.Writer, o *options, base string, plans []Plan, p panelFlags) {
	fmt.Fprintf(w, "ispkit bridge on %s\n", base)
	if o.fakes {
		fmt.Fprintf(w, "fake panels: DCImanager 5 %s, IPmanager %s, ISPmanager %s\n", p.dci.url, p.ipm.url, p.isp.url)
	}
	store := "memory (lost on exit)"
	switch {
	case o.store != "":
		store = "SQLite " + o.store
	case o.postgres != "":
		store = "PostgreSQL"
	}
	fmt.Fprintf(w, "store: %s\n", store)
	for _, p := range plans {
		fmt.Fprintf(w, "plan %d: %s (%s)\n", p.ID, p.Name, p.Kind)
	}
	if o.generatedToken {
		// Printed once, on the operator's terminal: it is generated here
		// and exists nowhere else.
		fmt.Fprintf(w, "token (generated; set $BRIDGE_TOKEN to choose it): %s\n", o.token)
	} else {
		fmt.Fprintln(w, "token: as given")
	}
	if o.tokenFromCommand {
		fmt.Fprintln(w, "note: a -token on the command line is visible to other users of this machine; prefer $BRIDGE_TOKEN")
	}
	tok := "$BRIDGE_TOKEN"
	if o.generatedToken {
		tok = o.token
	}
	fmt.Fprintf(w, "try:\n  curl -s -H 'Authorization: Bearer %s' %s/v1/plans\n", tok, base)
	fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"plan\":1,\"owner\":\"john\",\"password\":\"S3cret-pw-117\",\"domain\":\"s117.example.net\"}' '%s/v1/services/117/create?wait=60'\n", tok, base)
	fmt.Fprintf(w, "  curl -sN -H 'Authorization: Bearer %s' %s/v1/events\n", tok, base)
	fmt.Fprintf(w, "API document: %s/v1/openapi.json\n", base)
}
