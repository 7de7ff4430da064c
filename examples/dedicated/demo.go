package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // -postgres
	_ "modernc.org/sqlite"             // -store

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billmanager/billmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/memstore"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

const moduleName = "dc1"

// order is one customer order of this run.
type order struct {
	serviceID string
	owner     string
	tariff    *billing.Tariff
	options   map[string]string
	opID      string
	err       error // the open's failure, if any
}

type demo struct {
	o   *options
	out io.Writer
	t0  time.Time

	store      provision.Store
	storeClose func() error
	storeName  string
	durable    bool
	p          *panels
	cat        *billing.Catalog
	eng        *provision.Engine
	counts     *callCounts
	orders     []*order
	resumed    int // operations of an earlier run finished here

	mu         sync.Mutex // out, notes, seen, lastServer, failures
	notes      map[string][]string
	seen       map[string]bool
	lastServer map[string]string // operation → server it works on
	svcServer  map[string]string // service → its server (from the welcome)
	failures   []string          // servers that failed during an open: "name: reason"
	parkedOn   map[string]string // operation/server → the address it was reserved on
	welcomes   int               // welcome messages rendered
}

func (d *demo) close() {
	if d.p != nil {
		d.p.Close()
	}
	if d.storeClose != nil {
		_ = d.storeClose()
	}
}

func (d *demo) printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, format, args...)
}

func (d *demo) run(ctx context.Context) error {
	o := d.o
	d.notes, d.seen, d.lastServer, d.svcServer = map[string][]string{}, map[string]bool{}, map[string]string{}, map[string]string{}
	d.parkedOn = map[string]string{}
	logger, counts := newCallLog(os.Stderr, o.verbose)
	d.counts = counts

	if o.real {
		d.printf("WARNING: this provisions REAL servers on %s: it takes %d free %q server(s),\n"+
			"installs %s on them (erasing their disks), hands them to demo users%s.\n",
			o.dciURL, o.orders, o.config, o.os, map[bool]string{true: "", false: ", then suspends, resumes and closes one"}[o.keep])
		if !o.yes {
			return errors.New("refusing to touch real panels without -yes")
		}
	}
	if err := d.openStore(ctx); err != nil {
		return err
	}
	if o.real {
		d.p = &panels{}
		var err error
		if o.panel == "dci6" {
			err = d.p.connect6(o, []site6{{dc: fmt.Sprintf("Location %d", o.location), module: moduleName, loc: o.location, sort: 1}}, logger)
		} else {
			err = d.p.connect(o, logger)
		}
		if err != nil {
			return err
		}
		if err := d.p.loadNames(ctx); err != nil {
			return fmt.Errorf("DCImanager %s: %w", o.dciURL, err)
		}
	} else if o.panel == "dci6" {
		p, err := startFake6(o, logger)
		if err != nil {
			return err
		}
		d.p = p
	} else {
		var prev *restored
		if d.durable {
			var err error
			if prev, err = restoreState(ctx, d.store, moduleName); err != nil {
				return fmt.Errorf("read the store: %w", err)
			}
		}
		p, err := startFakes(o, prev, logger)
		if err != nil {
			return err
		}
		d.p = p
	}
	if err := d.p.connectLicenses(o, logger); err != nil {
		return err
	}
	if err := d.buildCatalog(); err != nil {
		return err
	}
	welcome, err := newNotifier(d)
	if err != nil {
		return err
	}
	eng, err := provision.New(provision.Config{
		Store:          d.store,
		Catalog:        d.cat,
		Dedicated:      d.p.backends,
		Notifier:       welcome,
		Licenses:       d.p.licenses,
		IPPools:        d.ipPools(),
		Workers:        o.workers,
		LeaseDuration:  map[bool]time.Duration{true: 30 * time.Second, false: 5 * time.Second}[o.real],
		InstallTimeout: o.installTimeout,
		PowerTimeout:   map[bool]time.Duration{true: 600 * time.Second, false: 10 * time.Second}[o.real],
		ReachTimeout:   map[bool]time.Duration{true: 300 * time.Second, false: 5 * time.Second}[o.real],
		PollInterval:   map[bool]time.Duration{true: 5 * time.Second, false: 100 * time.Millisecond}[o.real],
		ClaimInterval:  map[bool]time.Duration{true: time.Second, false: 50 * time.Millisecond}[o.real],
		Reachability:   d.p.reachability(),
		Logger:         logger,
	})
	if err != nil {
		return err
	}
	d.eng = eng
	defer eng.Subscribe(d.onEvent)()

	d.intro()
	if d.durable {
		if err := d.resume(ctx); err != nil {
			return err
		}
	}
	if err := d.placeOrders(ctx); err != nil {
		return err
	}
	if !o.keep {
		if err := d.lifecycle(ctx); err != nil {
			return err
		}
	}
	if err := d.summary(ctx); err != nil {
		return err
	}
	return d.check()
}

func (d *demo) ipPools() map[string]provision.IPPool {
	if d.p.pool == nil {
		return nil
	}
	return map[string]provision.IPPool{moduleName: d.p.pool}
}

func (d *demo) openStore(ctx context.Context) error {
	switch {
	case d.o.store != "":
		s, err := sqlstore.Open(ctx, "sqlite", d.o.store, sqlstore.SQLite)
		if err != nil {
			return fmt.Errorf("open SQLite store %s: %w", d.o.store, err)
		}
		d.store, d.storeClose, d.storeName, d.durable = s, s.Close, "SQLite "+d.o.store, true
	case d.o.postgres != "":
		s, err := sqlstore.Open(ctx, "pgx", d.o.postgres, sqlstore.Postgres)
		if err != nil {
			return fmt.Errorf("open PostgreSQL store: %w", err)
		}
		d.store, d.storeClose, d.storeName, d.durable = s, s.Close, "PostgreSQL", true
	default:
		d.store, d.storeName = memstore.New(), "in memory (use -store file.db to make it durable)"
	}
	return nil
}

// buildCatalog adds the tariffs to the panels' catalog (its data centers
// and modules).
func (d *demo) buildCatalog() error {
	d.cat = d.p.cat
	all := make([]string, 0, len(d.p.mods))
	for _, m := range d.p.mods {
		all = append(all, m.Name)
	}
	var tariffs []*billing.Tariff
	switch {
	case d.o.real:
		tariffs = []*billing.Tariff{{ID: 1, Name: "Dedicated " + d.o.config, ServerConfig: d.o.config, OSTemplate: d.o.os, Modules: all}}
	case d.o.panel == "dci6":
		// E-2146G only in Amsterdam; i9 in both data centers (Amsterdam's
		// first: its data center sorts first).
		tariffs = []*billing.Tariff{
			{ID: 1, Name: "Dedicated E-2146G", ServerConfig: config6E2146, OSTemplate: os6Ubuntu, OSTemplates: []string{os6Ubuntu, os6Debian}, Modules: []string{"dc-ams"}},
			{ID: 2, Name: "Dedicated i9", ServerConfig: config6I9, OSTemplate: os6Ubuntu, Modules: []string{"dc-ams", "dc-fra"}},
		}
	default:
		tariffs = []*billing.Tariff{
			{ID: 1, Name: "Dedicated " + configE3, ServerConfig: configE3, OSTemplate: osDebian, Modules: all},
			{ID: 2, Name: "Dedicated " + configE5, ServerConfig: configE5, OSTemplate: osDebian, Recipe: "#local__lamp", Modules: all},
		}
	}
	for _, t := range tariffs {
		t.ProductType = billing.ProductDedicatedServer
		t.DomainTemplate = d.o.domain
		t.DontWaitInstall = d.o.noWait
		if d.o.license > 0 {
			t.License = &billing.LicenseSpec{Pricelist: d.o.license, Period: 1}
		}
		if err := d.cat.AddTariff(t); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) intro() {
	o := d.o
	switch {
	case o.real:
		d.printf("%s: %s (%d servers)\n", d.p.panel, o.dciURL, len(d.p.names))
	case o.panel == "dci6":
		d.printf("Fake DCImanager 6 %s, two DCImanager 6 managed data centers:\n", o.dciURL)
		for _, dc := range d.cat.DataCenters() {
			mods := d.cat.ModulesIn(dc.Name)
			free := 0
			for _, m := range d.p.fake6.Machines() {
				if m.LocationID == dc.LocationID && d.p.fake6.Available(m.ID) {
					free++
				}
			}
			d.printf("  %-10s location %d, sort order %d, module %s, %d free servers\n", dc.Name, dc.LocationID, dc.SortOrder, strings.Join(mods, ","), free)
		}
		for _, t := range d.cat.Tariffs() {
			var order []string
			for _, m := range d.cat.SelectModules(t) {
				order = append(order, m.Name)
			}
			d.printf("  tariff %q (%s) from %s\n", t.Name, t.ServerConfig, strings.Join(order, " then "))
		}
	default:
		d.printf("Fake data center (DCImanager 5 %s, IPmanager %s):\n", o.dciURL, o.ipmURL)
		for i, r := range racks {
			ip, group := rackIP(i)
			note := group + " " + ip
			if r.hwProblem {
				note = "hardware problem: never sold"
			} else if i+1 == failingServer {
				note += ", its disk will fail during the OS install"
			}
			d.printf("  %-7s %-8s %-38s %s\n", r.name, r.config, r.chassis, note)
		}
	}
	if l := d.p.link; l != nil {
		if l.NeverChangeIPs || l.ParkingGroup == "" {
			d.printf("IPmanager: servers keep their addresses; extra addresses come from group %q\n", l.IPGroup())
		} else {
			d.printf("IPmanager: the parking address (group %q) is swapped for one of group %q\n", l.ParkingGroup, l.IPGroup())
		}
	}
	d.printf("Store: %s; %d workers\n\n", d.storeName, o.workers)
}

// resume finishes what an earlier run of a durable store left unfinished.
func (d *demo) resume(ctx context.Context) error {
	ops, err := d.store.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	d.printf("Resuming %d unfinished operation(s) of an earlier run\n", len(ops))
	var until time.Time
	for _, op := range ops {
		if op.State == provision.StateRunning && op.LeaseUntil.After(until) {
			until = op.LeaseUntil
		}
	}
	if wait := time.Until(until); wait > 0 {
		d.printf("  waiting %s for the leases of the crashed run to expire\n", wait.Round(100*time.Millisecond))
		select {
		case <-time.After(wait + 100*time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.resumed = len(ops)
	if err := d.eng.Resume(ctx); err != nil {
		if ctx.Err() != nil {
			return d.interrupted(ctx)
		}
		return fmt.Errorf("resume: %w", err)
	}
	for _, op := range ops {
		cur, err := d.store.GetOperation(ctx, op.ID)
		if err != nil {
			return err
		}
		d.printf("  %s of service %s: %s %s\n", cur.Kind, cur.ServiceID, cur.State, cur.Error)
	}
	d.printf("\n")
	return nil
}

var customers = []string{"alice.smith", "bob.jones", "carol.white", "dave.brown", "erin.green", "frank.black", "grace.hall", "heidi.young", "ivan.petrov", "judy.king"}

func randomPassword() string { return "Pw-" + rand.Text()[:14] }

// nextServiceID continues after the highest numeric id in the store.
func (d *demo) nextServiceID(ctx context.Context) (int, error) {
	svcs, err := d.store.ListServices(ctx, provision.ServiceFilter{})
	if err != nil {
		return 0, err
	}
	next := 1001
	for _, s := range svcs {
		if n, err := strconv.Atoi(s.ID); err == nil && n >= next {
			next = n + 1
		}
	}
	return next, nil
}

func (d *demo) placeOrders(ctx context.Context) error {
	if d.o.orders == 0 {
		return nil
	}
	first, err := d.nextServiceID(ctx)
	if err != nil {
		return err
	}
	tariffs := d.cat.Tariffs()
	// E3, E3, E5, E3, E3, E5, E5: with the racks above one E5 order finds
	// no server left and stays Pending.
	pattern := []int{0, 0, 1, 0, 0, 1, 1}
	if d.o.panel == "dci6" {
		// E-2146G, E-2146G, then i9s: the Amsterdam i9 goes first, then
		// Frankfurt's two; the fourth i9 order finds none left.
		pattern = []int{0, 0, 1, 1, 1, 1}
	}
	for i := range d.o.orders {
		owner := customers[i%len(customers)]
		if i >= len(customers) {
			owner += strconv.Itoa(i / len(customers))
		}
		t := tariffs[0]
		if len(tariffs) > 1 {
			t = tariffs[pattern[i%len(pattern)]]
		}
		o := &order{serviceID: strconv.Itoa(first + i), owner: owner, tariff: t, options: map[string]string{}}
		if !d.o.real {
			// A few orders show the options (the E5 order of the DCImanager
			// 5 run gets another OS).
			switch {
			case i == 1:
				o.options[billing.OptionIPv4] = "1"
			case i == 2 && d.o.panel == "dci5":
				o.options[billing.OptionOS] = osUbuntu
			case i == 3 && d.o.panel == "dci5":
				o.options[billing.OptionIPv6] = "1"
			}
		}
		if n := d.o.extraIPv4; n > 0 {
			o.options[billing.OptionIPv4] = strconv.Itoa(n)
		}
		if n := d.o.extraIPv6; n > 0 {
			o.options[billing.OptionIPv6] = strconv.Itoa(n)
		}
		if d.o.recipe != "" {
			o.options[billing.OptionRecipe] = d.o.recipe
		}
		d.orders = append(d.orders, o)
	}

	runCtx, stopRun := context.WithCancel(ctx)
	var runErr error
	var wg sync.WaitGroup
	wg.Go(func() { runErr = d.eng.Run(runCtx) })
	stop := func() {
		stopRun()
		wg.Wait()
	}

	d.printf("Ordering %d server(s) at once:\n", len(d.orders))
	for _, o := range d.orders {
		op, err := d.eng.Submit(ctx, provision.OpenRequest{ServiceID: o.serviceID, TariffID: o.tariff.ID,
			AccountID: 1, Owner: o.owner, Password: randomPassword(), Options: o.options})
		if err != nil {
			stop()
			return fmt.Errorf("order %s: %w", o.serviceID, err)
		}
		o.opID = op.ID
		extra := ""
		for _, k := range slices.Sorted(maps.Keys(o.options)) {
			extra += fmt.Sprintf(" %s=%s", k, o.options[k])
		}
		d.printf("  %s  #%s  %-12s %s%s\n", sinceStart(d.t0), o.serviceID, o.owner, o.tariff.Name, extra)
	}
	for _, o := range d.orders {
		_, err := d.eng.Wait(ctx, o.opID)
		if err != nil && ctx.Err() != nil {
			stop()
			return d.interrupted(ctx)
		}
		if err != nil && !errors.Is(err, provision.ErrOperationFailed) {
			stop()
			return fmt.Errorf("wait for order %s: %w", o.serviceID, err)
		}
		o.err = err
	}
	stop()
	if runErr != nil {
		return fmt.Errorf("engine: %w", runErr)
	}
	d.printf("\n")
	return nil
}

// interrupted explains what happens next. The engine released the leases
// of the operations its stop interrupted, so the next run resumes them at
// once.
func (d *demo) interrupted(ctx context.Context) error {
	if d.durable {
		return fmt.Errorf("interrupted (%w); the unfinished operations are in the store: run again with the same store to resume them", ctx.Err())
	}
	return fmt.Errorf("interrupted: %w", ctx.Err())
}

// lifecycle suspends, resumes and closes an active service of this run.
func (d *demo) lifecycle(ctx context.Context) error {
	var svc *provision.Service
	for _, o := range d.orders {
		s, err := d.store.GetService(ctx, o.serviceID)
		if err != nil {
			return err
		}
		if s.Status != billing.StatusActive {
			continue
		}
		// Prefer one whose story is not the failover, so that one stays
		// visible as Active in the summary.
		d.mu.Lock()
		plain := len(d.notes[s.ID]) == 0
		d.mu.Unlock()
		if svc == nil || plain && len(d.notes[svc.ID]) > 0 {
			svc = s
		}
	}
	if svc == nil {
		return nil
	}
	id, srv := svc.ID, svc.Properties[provision.PropServerID]
	d.printf("Service %s on %s: log-in link, password, extra address, reinstall, suspend, resume, close\n", id, d.p.serverName(srv))
	if link, err := d.eng.LoginURL(ctx, id); err == nil {
		d.printf("  login link for %s: %s\n", svc.Properties[provision.PropLogin], redactKey(link))
	} else if !errors.Is(err, provision.ErrUnsupported) {
		return fmt.Errorf("login link: %w", err)
	}
	do := func(what string, req provision.Request) (*provision.Service, error) {
		if _, err := d.eng.Do(ctx, req); err != nil {
			if ctx.Err() != nil {
				return nil, d.interrupted(ctx)
			}
			return nil, fmt.Errorf("%s of service %s: %w", what, id, err)
		}
		return d.store.GetService(ctx, id)
	}
	if _, err := do("password change", provision.ChangePasswordRequest{ServiceID: id, Password: randomPassword()}); err != nil {
		return err
	}
	d.note(id, "password changed")
	before := extraIPs(svc)
	cur, err := do("extra address", provision.AddIPRequest{ServiceID: id, Family: "ipv4"})
	if err != nil {
		return err
	}
	var added string
	for _, ip := range extraIPs(cur) {
		if !slices.Contains(before, ip) {
			added = ip
		}
	}
	if added == "" {
		return fmt.Errorf("extra address of service %s: no new address on the service (%v)", id, extraIPs(cur))
	}
	d.printf("  %s  #%-5s extra address %s added\n", sinceStart(d.t0), id, added)
	if _, err := do("address removal", provision.RemoveIPRequest{ServiceID: id, IP: added}); err != nil {
		return err
	}
	d.printf("  %s  #%-5s extra address %s removed and released\n", sinceStart(d.t0), id, added)
	d.note(id, "address "+added+" added and removed")
	cur, err = do("reinstall", provision.ReinstallRequest{ServiceID: id, Password: randomPassword()})
	if err != nil {
		return err
	}
	d.printf("  %s  #%-5s reinstalled: %s\n", sinceStart(d.t0), id, cur.Properties[provision.PropOS])
	d.note(id, "reinstalled")
	for _, step := range []struct {
		name string
		req  provision.Request
	}{{"suspended", provision.SuspendRequest{ServiceID: id}}, {"resumed", provision.UnsuspendRequest{ServiceID: id}}, {"closed", provision.CloseRequest{ServiceID: id}}} {
		if _, err := do(strings.TrimSuffix(step.name, "d"), step.req); err != nil {
			return err
		}
		d.note(id, step.name)
	}
	s, err := d.p.backend(svc.Module).GetServer(ctx, srv)
	if err != nil {
		return err
	}
	owner := s.OwnerID
	if owner == "" {
		owner = "none"
	}
	d.printf("  %s is back in stock: hostname %s, address %s, owner %s, disabled until the next order\n\n", d.p.serverName(srv), s.Hostname, dash(s.IP), owner)
	return nil
}

// extraIPs are the additional addresses saved on the service.
func extraIPs(svc *provision.Service) []string {
	var out []string
	for _, ip := range strings.Split(svc.Properties[provision.PropIPs], ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			out = append(out, ip)
		}
	}
	return out
}

// redactKey hides the one-time key of a login link: DCImanager 5's key=
// parameter, DCImanager 6's /auth/key-v4/<key> path.
func redactKey(link string) string {
	if i := strings.Index(link, "/key-v4/"); i >= 0 {
		return link[:i] + "/key-v4/[REDACTED]"
	}
	if i := strings.Index(link, "key="); i >= 0 {
		end := strings.IndexByte(link[i:], '&')
		if end < 0 {
			return link[:i] + "key=[REDACTED]"
		}
		return link[:i] + "key=[REDACTED]" + link[i+end:]
	}
	return link
}

func (d *demo) note(serviceID, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notes[serviceID] = append(d.notes[serviceID], text)
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
	mine := map[string]bool{}
	for _, o := range d.orders {
		mine[o.serviceID] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintln(d.out, "Summary:")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tTARIFF\tSTATUS\tSERVER\tIP\tUSER\tNOTES")
	for _, s := range svcs {
		if s.Kind != provision.KindDedicated {
			continue
		}
		tariff := strconv.FormatInt(s.TariffID, 10)
		if t, err := d.cat.Tariff(s.TariffID); err == nil {
			tariff = t.Name
		}
		notes := slices.Clone(d.notes[s.ID])
		if !mine[s.ID] {
			notes = append([]string{"earlier run"}, notes...)
		}
		if lic := s.Properties[provision.PropLicenseID]; lic != "" {
			notes = append(notes, "license "+lic)
		}
		if extra := s.Properties[provision.PropIPs]; extra != "" && s.Status != billing.StatusDeleted {
			notes = append(notes, "extra "+extra)
		}
		if t, err := d.cat.Tariff(s.TariffID); err == nil && s.Properties[provision.PropOS] != "" && s.Properties[provision.PropOS] != t.OSTemplate {
			notes = append(notes, strings.TrimPrefix(s.Properties[provision.PropOS], "ISPsystem__"))
		}
		if s.Error != "" && s.Status == billing.StatusOrdered {
			notes = append(notes, s.Error)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, tariff, statusName(s.Status), d.p.serverName(s.Properties[provision.PropServerID]),
			dash(s.Properties[provision.PropIP]), dash(s.Properties[provision.PropLogin]), strings.Join(notes, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total, per := d.counts.snapshot()
	n := max(len(d.orders)+d.resumed, 1)
	if f := d.p.fakeLic; f != nil {
		active := 0
		for _, l := range f.Licenses() {
			if l.Status == billmanagertest.StatusActive {
				active++
			}
		}
		fmt.Fprintf(d.out, "\nLicensing server: %d license(s) bought, %d active (a closed service's license is suspended and back in the pool)\n", len(f.Licenses()), active)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(per)) {
		parts = append(parts, fmt.Sprintf("%s: %d", panelName(k), per[k]))
	}
	fmt.Fprintf(d.out, "\nPanel calls: %d (%s), %.0f per order; %d welcome message(s); %s in all\n",
		total, strings.Join(parts, ", "), float64(total)/float64(n), d.welcomes, time.Since(d.t0).Round(100*time.Millisecond))
	return nil
}

// panelName is the display name of a client's log "panel" attribute.
func panelName(k string) string {
	switch k {
	case "dcimanager5":
		return "DCImanager 5"
	case "dcimanager6":
		return "DCImanager 6"
	case "ipmanager":
		return "IPmanager"
	case "billmanager":
		return "licensing server"
	}
	return k
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// check turns an unexpected outcome into an error (exit status 1): every
// order must end Active (or closed by the demo) or Pending for want of a
// server.
func (d *demo) check() error {
	var bad []string
	if !d.o.real {
		// Only the server with the failing disk may fail.
		for _, f := range d.failures {
			if !strings.HasPrefix(f, racks[failingServer-1].name+":") {
				bad = append(bad, "unexpected server failure: "+f)
			}
		}
	}
	for _, o := range d.orders {
		if o.err != nil && !errors.Is(o.err, provision.ErrNoServer) {
			bad = append(bad, fmt.Sprintf("order %s: %v", o.serviceID, o.err))
		}
	}
	if d.p.fakeDCI != nil || d.p.fake6 != nil {
		bad = append(bad, d.checkPanel()...)
	}
	bad = append(bad, d.p.strictViolations()...)
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "\n"))
	}
	return nil
}

// checkPanel compares the store with the panels through the adapters:
// every active service's server is owned by its user under its domain,
// and no server is sold twice.
func (d *demo) checkPanel() []string {
	ctx := context.Background()
	var bad []string
	svcs, err := d.store.ListServices(ctx, provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive, billing.StatusSuspended}})
	if err != nil {
		return []string{err.Error()}
	}
	sold := map[string]string{}
	for _, s := range svcs {
		srv := s.Properties[provision.PropServerID]
		if other := sold[srv]; other != "" {
			bad = append(bad, fmt.Sprintf("server %s sold to services %s and %s", srv, other, s.ID))
		}
		sold[srv] = s.ID
		got, err := d.p.backend(s.Module).GetServer(ctx, srv)
		if err != nil {
			bad = append(bad, fmt.Sprintf("service %s: server %s: %v", s.ID, srv, err))
			continue
		}
		if got.Hostname != s.Properties[provision.PropDomain] {
			bad = append(bad, fmt.Sprintf("service %s: server %s has hostname %q, want %q", s.ID, got.Name, got.Hostname, s.Properties[provision.PropDomain]))
		}
		if got.OwnerID != s.Properties[provision.PropUserID] {
			bad = append(bad, fmt.Sprintf("service %s: server %s is owned by user %q, want %q", s.ID, got.Name, got.OwnerID, s.Properties[provision.PropUserID]))
		}
	}
	return bad
}

// swaps reports whether Open swaps parking addresses for public ones.
func (d *demo) swaps() bool {
	l := d.p.link
	return l != nil && !l.NeverChangeIPs && l.ParkingGroup != ""
}

// rememberParking notes the address a server was reserved on (its parking
// address), read from the fake's state (no panel call), for the swap line.
func (d *demo) rememberParking(ev provision.Event) {
	if d.p.fakeDCI == nil || !d.swaps() {
		return
	}
	id, _ := strconv.ParseInt(ev.ServerID, 10, 64)
	if st, ok := d.p.fakeDCI.Server(id); ok {
		d.mu.Lock()
		d.parkedOn[ev.OperationID+"/"+ev.ServerID] = st.MainIP
		d.mu.Unlock()
	}
}

// swapLine describes a finished parking → public swap.
func (d *demo) swapLine(ev provision.Event) string {
	if d.p.fakeDCI == nil {
		return "parking address swapped for a public one from IPmanager, parking address released"
	}
	id, _ := strconv.ParseInt(ev.ServerID, 10, 64)
	st, _ := d.p.fakeDCI.Server(id)
	d.mu.Lock()
	park := d.parkedOn[ev.OperationID+"/"+ev.ServerID]
	d.mu.Unlock()
	return fmt.Sprintf("address swap: parking %s -> public %s from IPmanager (now the main address); %s back in the parking pool",
		dash(park), st.MainIP, dash(park))
}

// onEvent prints the engine's progress events. It runs on the worker
// goroutines, so it only formats and writes.
func (d *demo) onEvent(ev provision.Event) {
	d.mu.Lock()
	if ev.ServerID != "" {
		d.lastServer[ev.OperationID] = ev.ServerID
	}
	if ev.Type == provision.EventWelcome {
		d.svcServer[ev.ServiceID] = ev.Properties[provision.PropServerID]
	}
	srvID := d.lastServer[ev.OperationID]
	if srvID == "" {
		srvID = d.svcServer[ev.ServiceID]
	}
	srv := d.p.serverName(srvID)
	d.mu.Unlock()
	line := func(format string, args ...any) {
		d.mu.Lock()
		defer d.mu.Unlock()
		fmt.Fprintf(d.out, "  %s  #%-5s %-7s ", sinceStart(d.t0), ev.ServiceID, srv)
		fmt.Fprintf(d.out, format, args...)
		fmt.Fprintln(d.out)
	}
	once := func(key string) bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		k := ev.OperationID + "/" + ev.ServerID + "/" + key
		if d.seen[k] {
			return false
		}
		d.seen[k] = true
		return true
	}
	if d.o.steps && (ev.Type == provision.EventStepStarted || ev.Type == provision.EventStepFinished) {
		line("%s %s %s", ev.Kind, strings.TrimPrefix(string(ev.Type), "step_"), ev.Step)
		return
	}
	switch ev.Type {
	case provision.EventStepFinished:
		if ev.Kind != provision.OpOpen {
			return
		}
		switch ev.Step {
		case "pick":
			if ev.ServerID != "" && once("pick") {
				d.rememberParking(ev)
				line("reserved")
			}
		case "rb_release":
			if d.swaps() {
				line("rolled back: parked again, domain free.ds, reason in its notes, disabled, out of sale")
			} else {
				line("rolled back: domain free.ds, reason in its notes, disabled, out of sale")
			}
		case "transfer":
			line("handed over to the customer's panel user")
		}
	case provision.EventStepStarted:
		if ev.Kind == provision.OpOpen && ev.Step == "install" && once("install") {
			line("OS install started")
		}
		// extra_ips follows ip_swap: the swap is complete.
		if ev.Kind == provision.OpOpen && ev.Step == "extra_ips" && d.swaps() && once("swapped") {
			line("%s", d.swapLine(ev))
		}
	case provision.EventInstallProgress:
		switch {
		case ev.Percent < 0:
			if once("progress") {
				line("OS install running (the panel reports no percentage)")
			}
		case ev.Percent >= 100:
			line("OS install finished")
		default:
			if once("progress") {
				line("OS install running: %d%%", ev.Percent)
			}
			// One line per quarter, not one per poll.
			// (one line per event, however many quarters it passed)
			printed := false
			for _, q := range []int{25, 50, 75} {
				if ev.Percent >= q && once(fmt.Sprintf("progress%d", q)) && !printed {
					line("OS install %d%%", ev.Percent)
					printed = true
				}
			}
		}
	case provision.EventServerFailed:
		d.mu.Lock()
		d.failures = append(d.failures, srv+": "+ev.Error)
		d.mu.Unlock()
		d.note(ev.ServiceID, "failed over from "+srv+" ("+ev.Error+")")
		line("FAILED %s; rolling it back", ev.Error)
	case provision.EventWelcome:
		p := ev.Properties
		line("ACTIVE  %s  %s  user %s", p[provision.PropIP], p[provision.PropDomain], p[provision.PropLogin])
	case provision.EventOperationFailed:
		line("%s FAILED: %s", ev.Kind, ev.Error)
	case provision.EventOperationDone:
		switch ev.Kind {
		case provision.OpSuspend:
			line("suspended: switch port off (the server keeps running)")
		case provision.OpUnsuspend:
			line("resumed: switch port on")
		case provision.OpClose:
			line("closed: extra addresses released, domain free.ds, owner cleared, reservation released")
		case provision.OpOpen:
		default:
			line("%s done", ev.Kind)
		}
	case provision.EventManualTask:
		if ev.Task != nil {
			line("manual task for %s: %s", ev.Task.Department, ev.Task.Reason)
		}
	}
}
