// Command hosting sells shared-hosting accounts on ISPmanager through the
// ispkit provisioning engine, the way BILLmanager's ISPmanager module does.
//
// With no flags it starts a fake ISPmanager in-process with an account
// template (preset) "Site hosting" of 25 databases and 25 WWW domains and a
// tariff that sets 10 databases: the accounts get 10 databases and 25 WWW
// domains (billing wins, the template fills the rest). Account names come
// from the username template user@ID@; one name is already taken in the
// panel and gets a numeric suffix. It then suspends, resumes and deletes one
// account, changes a password, prints a login link and a summary:
//
//	go run ./examples/hosting
//	go run ./examples/hosting -v                   # every panel call (redacted)
//	go run ./examples/hosting -store hosting.db    # durable SQLite store
//
// Against a real panel (this creates, changes and deletes real accounts):
//
//	go run ./examples/hosting -yes -isp https://host:1500/ispmgr -isp-user root -isp-password … -insecure
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite" // -store

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/ispmgr"
	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		// -h asked for the help it got: success.
	default:
		fmt.Fprintln(os.Stderr, "hosting: error:", err)
		os.Exit(1)
	}
}

const (
	moduleName = "isp1"
	// takenName is an account that already exists in the fake panel: the
	// order whose template gives this name gets a suffix.
	takenName = "user118"
)

type options struct {
	url, user, password string
	insecure, yes       bool
	preset              string
	orders, workers     int
	store               string
	verbose             bool
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("hosting", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `hosting sells shared-hosting accounts on ISPmanager through the ispkit engine (template and tariff limits, names, suspend, resume, delete, password, log-in link); without -isp against a fake ISPmanager started in-process.

Usage: hosting [flags]
  Real panel (creates, changes and deletes real accounts):
    ISP_PASSWORD=... hosting -isp https://host:1500/ispmgr -isp-user admin -yes

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.url, "isp", "", "ISPmanager entry point, e.g. https://host:1500/ispmgr (default: start a fake in-process)")
	fs.StringVar(&o.user, "isp-user", "", "ISPmanager administrator login")
	fs.StringVar(&o.password, "isp-password", "", "ISPmanager administrator password (or $ISP_PASSWORD)")
	fs.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification (self-signed panels on :1500)")
	fs.BoolVar(&o.yes, "yes", false, "confirm that real accounts may be created, changed and deleted (required with -isp)")
	fs.StringVar(&o.preset, "preset", "Site hosting", "account template (preset); ISPmanager creates a missing one unlimited")
	fs.IntVar(&o.orders, "orders", 4, "number of accounts to open")
	fs.IntVar(&o.workers, "workers", 4, "engine worker pool size")
	fs.StringVar(&o.store, "store", "", "SQLite file for a durable store")
	fs.BoolVar(&o.verbose, "v", false, "log every panel call and engine step to stderr (the module log; secrets redacted)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}
	if o.orders < 1 || o.workers < 1 {
		return nil, errors.New("-orders and -workers must be at least 1")
	}
	if o.password == "" {
		o.password = os.Getenv("ISP_PASSWORD")
	}
	if o.url != "" && (o.user == "" || o.password == "") {
		return nil, errors.New("-isp needs -isp-user and -isp-password")
	}
	return o, nil
}

type account struct {
	serviceID, owner, domain, opID string
	err                            error
}

type demo struct {
	o      *options
	out    io.Writer
	t0     time.Time
	mu     sync.Mutex
	notes  map[string][]string
	calls  *callCounts
	fake   *ispmanagertest.Server
	client *ispmanager.Client
	store  provision.Store
	cat    *billing.Catalog
	eng    *provision.Engine
	accts  []*account
}

func (d *demo) printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, format, args...)
}

func (d *demo) note(id, s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notes[id] = append(d.notes[id], s)
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	d := &demo{o: o, out: stdout, t0: time.Now(), notes: map[string][]string{}}
	logger, calls := newCallLog(os.Stderr, o.verbose)
	d.calls = calls

	if o.url != "" {
		d.printf("WARNING: this creates %d real account(s) on %s from template %q,\n"+
			"then suspends, resumes and deletes one of them and changes a password.\n", o.orders, o.url, o.preset)
		if !o.yes {
			return errors.New("refusing to touch a real panel without -yes")
		}
	} else {
		// The account template of the vendor's example: 25 databases, 25
		// WWW domains. And an account someone created by hand.
		d.fake = ispmanagertest.NewServer(ispmanagertest.WithPreset(o.preset,
			ispmanager.Limits{Databases: ispmanager.Int(25), WebDomains: ispmanager.Int(25)}))
		defer d.fake.Close()
		// Strict: a function or parameter the real panel is not known to
		// take is recorded, and the run fails on it (check).
		d.fake.SetStrict(true)
		if err := d.fake.AddUser(ispmanagertest.User{Name: takenName, FullName: "old account", Active: true}, "Old-pw-"+rand.Text()); err != nil {
			return err
		}
		o.url = d.fake.URL()
		o.user, o.password = d.fake.Admin()
	}
	copts := []ispmanager.Option{
		ispmanager.WithCredentials(o.user, o.password),
		ispmanager.WithApplication("ispkit-example-hosting", "1"),
		ispmanager.WithRateLimit(20, 10),
		ispmanager.WithLogger(logger),
	}
	if o.insecure {
		copts = append(copts, ispmanager.WithInsecureSkipVerify())
	}
	if d.client, err = ispmanager.NewClient(o.url, copts...); err != nil {
		return err
	}

	if o.store != "" {
		s, err := sqlstore.Open(ctx, "sqlite", o.store, sqlstore.SQLite)
		if err != nil {
			return fmt.Errorf("open SQLite store %s: %w", o.store, err)
		}
		defer s.Close()
		d.store = s
	} else {
		d.store = memstore.New()
	}

	// Billing: the module and a tariff that sets 10 databases and names
	// accounts user<service id>.
	d.cat = billing.NewCatalog()
	if err := d.cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: moduleName, URL: o.url, Username: o.user, Password: o.password, Department: "Hosting"}); err != nil {
		return err
	}
	tariffLimits, err := billing.LimitsFrom(map[string]string{billing.LimitDB: "10"})
	if err != nil {
		return err
	}
	tariff := &billing.Tariff{ID: 1, Name: "Hosting Start", ProductType: billing.ProductSharedHosting, Modules: []string{moduleName},
		AccountTemplate: o.preset, Limits: tariffLimits, UsernameTemplate: "user@ID@"}
	if err := d.cat.AddTariff(tariff); err != nil {
		return err
	}
	d.eng, err = provision.New(provision.Config{
		Store: d.store, Catalog: d.cat, Workers: o.workers, Logger: logger,
		Hosting:      map[string]provision.HostingBackend{moduleName: ispmgr.New(d.client)},
		PollInterval: 100 * time.Millisecond, ClaimInterval: 50 * time.Millisecond, LeaseDuration: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	defer d.eng.Subscribe(d.onEvent)()

	if err := d.showMerge(ctx, tariff); err != nil {
		return err
	}
	if err := d.resume(ctx); err != nil {
		return err
	}
	if err := d.open(ctx, tariff); err != nil {
		return err
	}
	if err := d.lifecycle(ctx); err != nil {
		return err
	}
	if err := d.summary(ctx); err != nil {
		return err
	}
	return d.check(ctx)
}

// showMerge prints the template-vs-tariff limit merge.
func (d *demo) showMerge(ctx context.Context, t *billing.Tariff) error {
	tmpl := billing.Limits{}
	p, err := d.client.Presets.Get(ctx, d.o.preset)
	switch {
	case err == nil:
		if tmpl, err = billing.LimitsFrom(p.Limits.Values()); err != nil {
			return err
		}
	case ispmanager.IsNotFound(err):
	default:
		return fmt.Errorf("ISPmanager %s: read template %q: %w", d.o.url, d.o.preset, err)
	}
	merged := billing.MergeLimits(tmpl, t.Limits)
	d.printf("ISPmanager %s\n", d.o.url)
	d.printf("Limits: template %q %s + tariff %q %s\n", d.o.preset, limitText(tmpl), t.Name, limitText(t.Limits))
	d.printf("        → accounts get %s (billing wins, the template fills the rest)\n", limitText(merged))
	d.printf("Account names: template %q; %q already exists in the panel\n\n", t.UsernameTemplate, takenName)
	return nil
}

func limitText(l billing.Limits) string {
	var parts []string
	for _, k := range []string{billing.LimitDB, billing.LimitWebDomains} {
		if v, ok := l.Get(k); ok {
			if v == "" {
				v = "unlimited"
			}
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, " ")
}

func (d *demo) resume(ctx context.Context) error {
	if d.o.store == "" {
		return nil
	}
	ops, err := d.store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
	if err != nil || len(ops) == 0 {
		return err
	}
	d.printf("Resuming %d unfinished operation(s) of an earlier run\n", len(ops))
	var until time.Time
	for _, op := range ops {
		if op.LeaseUntil.After(until) {
			until = op.LeaseUntil
		}
	}
	select {
	case <-time.After(time.Until(until)):
	case <-ctx.Done():
		return ctx.Err()
	}
	return d.eng.Resume(ctx)
}

var owners = []struct{ owner, domain string }{
	{"Alice Smith", "alice-bakery.example"},
	{"Bob Jones", "bobs-bikes.example"},
	{"Carol White", "carol-photo.example"},
	{"Dave Brown", "dave-blog.example"},
	{"Erin Green", "erin-garden.example"},
}

func (d *demo) open(ctx context.Context, t *billing.Tariff) error {
	first := 117
	svcs, err := d.store.ListServices(ctx, provision.ServiceFilter{})
	if err != nil {
		return err
	}
	for _, s := range svcs {
		if n, err := strconv.Atoi(s.ID); err == nil && n >= first {
			first = n + 1
		}
	}
	runCtx, stopRun := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = d.eng.Run(runCtx) })
	defer func() {
		stopRun()
		wg.Wait()
	}()
	d.printf("Opening %d account(s) at once:\n", d.o.orders)
	for i := range d.o.orders {
		ow := owners[i%len(owners)]
		a := &account{serviceID: strconv.Itoa(first + i), owner: ow.owner, domain: ow.domain}
		if i >= len(owners) {
			a.domain = fmt.Sprintf("%d.%s", i/len(owners), a.domain)
		}
		op, err := d.eng.Submit(ctx, provision.OpenRequest{ServiceID: a.serviceID, TariffID: t.ID, AccountID: int64(10 + i),
			Owner: a.owner, Domain: a.domain, Password: "Pw-" + rand.Text()[:14]})
		if err != nil {
			return fmt.Errorf("order %s: %w", a.serviceID, err)
		}
		a.opID = op.ID
		d.accts = append(d.accts, a)
	}
	for _, a := range d.accts {
		if _, err := d.eng.Wait(ctx, a.opID); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w", ctx.Err())
			}
			if !errors.Is(err, provision.ErrOperationFailed) {
				return err
			}
			a.err = err
		}
	}
	stopRun()
	wg.Wait()
	if runErr != nil {
		return fmt.Errorf("engine: %w", runErr)
	}
	d.printf("\n")
	return nil
}

// lifecycle: change the password of the first account, print its login
// link, and suspend, resume and delete the last one.
func (d *demo) lifecycle(ctx context.Context) error {
	var active []*provision.Service
	for _, a := range d.accts {
		s, err := d.store.GetService(ctx, a.serviceID)
		if err != nil {
			return err
		}
		if s.Status == billing.StatusActive {
			active = append(active, s)
		}
	}
	if len(active) == 0 {
		return nil
	}
	first := active[0]
	login := first.Properties[provision.PropLogin]
	pw := "New-pw-" + rand.Text()[:12]
	if _, err := d.eng.ChangePassword(ctx, provision.ChangePasswordRequest{ServiceID: first.ID, Password: pw}); err != nil {
		return fmt.Errorf("change password of service %s: %w", first.ID, err)
	}
	d.note(first.ID, "password changed")
	if d.fake != nil && !d.fake.CheckPassword(login, pw) {
		return fmt.Errorf("the panel does not accept the new password of %s", login)
	}
	link, err := d.eng.LoginURL(ctx, first.ID)
	if err != nil {
		return fmt.Errorf("login link: %w", err)
	}
	d.printf("Login link for %s (one-time): %s\n", login, redactKey(link))
	if len(active) < 2 {
		d.printf("\n")
		return nil
	}
	s := active[len(active)-1]
	d.printf("Service %s (%s): suspend, resume, delete\n", s.ID, s.Properties[provision.PropLogin])
	for _, step := range []struct {
		name string
		req  provision.Request
	}{{"suspended", provision.SuspendRequest{ServiceID: s.ID}}, {"resumed", provision.UnsuspendRequest{ServiceID: s.ID}}, {"deleted", provision.CloseRequest{ServiceID: s.ID}}} {
		if _, err := d.eng.Do(ctx, step.req); err != nil {
			return fmt.Errorf("%s service %s: %w", step.name, s.ID, err)
		}
		d.note(s.ID, step.name)
	}
	d.printf("\n")
	return nil
}

func redactKey(link string) string {
	i := strings.Index(link, "key=")
	if i < 0 {
		return link
	}
	end := strings.IndexByte(link[i:], '&')
	if end < 0 {
		return link[:i] + "key=[REDACTED]"
	}
	return link[:i] + "key=[REDACTED]" + link[i+end:]
}

func (d *demo) onEvent(ev provision.Event) {
	var msg string
	switch ev.Type {
	case provision.EventStepFinished:
		if ev.Step == "h_name" {
			msg = "free account name found"
		}
	case provision.EventStepStarted:
		if ev.Step == "h_activate" {
			msg = "account created from the template with the merged limits"
		}
	case provision.EventWelcome:
		msg = fmt.Sprintf("ACTIVE  user %s  domain %s", ev.Properties[provision.PropLogin], ev.Properties[provision.PropDomain])
	case provision.EventOperationFailed:
		msg = fmt.Sprintf("%s FAILED: %s", ev.Kind, ev.Error)
	case provision.EventOperationDone:
		switch ev.Kind {
		case provision.OpSuspend:
			msg = "suspended"
		case provision.OpUnsuspend:
			msg = "resumed"
		case provision.OpClose:
			msg = "deleted"
		case provision.OpChangePassword:
			msg = "password changed"
		}
	}
	if msg == "" {
		return
	}
	d.printf("  %5.1fs  #%-4s %s\n", time.Since(d.t0).Seconds(), ev.ServiceID, msg)
}

func statusName(s billing.Status) string {
	if s == billing.StatusOrdered {
		return "Pending"
	}
	return string(s)
}

func (d *demo) summary(ctx context.Context) error {
	svcs, err := d.store.ListServices(ctx, provision.ServiceFilter{})
	if err != nil {
		return err
	}
	slices.SortFunc(svcs, func(a, b *provision.Service) int {
		na, _ := strconv.Atoi(a.ID)
		nb, _ := strconv.Atoi(b.ID)
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(a.ID, b.ID))
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintln(d.out, "Summary:")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tOWNER\tSTATUS\tUSER\tDOMAIN\tLIMITS IN THE PANEL\tNOTES")
	for _, s := range svcs {
		login := s.Properties[provision.PropLogin]
		limits := "-"
		if login != "" && s.Status != billing.StatusDeleted {
			u, err := d.client.Users.Get(ctx, login)
			if err != nil {
				return fmt.Errorf("read account %s: %w", login, err)
			}
			limits = limitsOf(u.Limits)
		}
		notes := slices.Clone(d.notes[s.ID])
		if login != "" && login != "user"+s.ID {
			notes = append([]string{"user" + s.ID + " was taken"}, notes...)
		}
		if s.Error != "" && s.Status == billing.StatusOrdered {
			notes = append(notes, s.Error)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Owner, statusName(s.Status), dash(login), dash(s.Properties[provision.PropDomain]), limits, strings.Join(notes, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total, _ := d.calls.snapshot()
	fmt.Fprintf(d.out, "\nPanel calls: %d to ISPmanager, %.0f per account; %s in all\n", total, float64(total)/float64(max(len(d.accts), 1)), time.Since(d.t0).Round(100*time.Millisecond))
	return nil
}

func limitsOf(l ispmanager.Limits) string {
	v := l.Values()
	get := func(k string) string {
		x, ok := v[k]
		switch {
		case !ok:
			return "?"
		case x == "":
			return "unlimited"
		}
		return x
	}
	return "db=" + get("db") + " webdomains=" + get("webdomains")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (d *demo) check(ctx context.Context) error {
	var bad []string
	for _, a := range d.accts {
		if a.err != nil {
			bad = append(bad, fmt.Sprintf("order %s: %v", a.serviceID, a.err))
		}
	}
	if d.fake != nil {
		for _, v := range d.fake.Violations() {
			bad = append(bad, "the fake ISPmanager saw a call the real panel is not known to take: "+v.String())
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "\n"))
	}
	return nil
}

// callLog counts the panel calls ("ispkit call" records) and, with -v,
// writes every record: the module log (the clients redact secrets).
type callLog struct {
	out   slog.Handler
	level slog.Level
	c     *callCounts
}

type callCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func newCallLog(w io.Writer, verbose bool) (*slog.Logger, *callCounts) {
	c := &callCounts{n: map[string]int{}}
	h := &callLog{level: slog.LevelInfo, c: c}
	if verbose {
		h.level = slog.LevelDebug
		h.out = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return slog.New(h), c
}

func (h *callLog) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *callLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "ispkit call" {
		h.c.mu.Lock()
		h.c.n["calls"]++
		h.c.mu.Unlock()
	}
	if h.out != nil {
		return h.out.Handle(ctx, r)
	}
	return nil
}

func (h *callLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	if h.out != nil {
		c.out = h.out.WithAttrs(as)
	}
	return &c
}

func (h *callLog) WithGroup(name string) slog.Handler {
	c := *h
	if h.out != nil {
		c.out = h.out.WithGroup(name)
	}
	return &c
}

func (c *callCounts) snapshot() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n["calls"], nil
}
