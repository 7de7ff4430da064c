package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billmanager/billmanagertest"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/ipmgr"
)

// The fake data center: two configurations, a parking and a public group.
const (
	configE3   = "E3-16GB"
	configE5   = "E5-64GB"
	osDebian   = "ISPsystem__Debian-12-x86_64"
	osUbuntu   = "ISPsystem__Ubuntu-24.04-amd64"
	parkingNet = "10.0.0.0/24"
	publicNet  = "203.0.113.0/26"
	public6Net = "2001:db8:42::/120"
	// failingServer is the server whose disk controller dies during the OS
	// install: the order that gets it fails over to the next server.
	failingServer = 1
	// fakeParking racks the fake's free servers on a parking address that
	// the engine swaps for a public one from IPmanager when it sells them
	// (the public address is added first, then the parking one removed and
	// released: the panel promotes the public address to main). Off, the
	// servers keep public addresses (IPmanager's "never change IP
	// addresses") and only the extra addresses come from IPmanager.
	fakeParking = true
)

type rack struct {
	name, config, chassis, unit string
	hwProblem                   bool
}

var racks = []rack{
	{"srv-01", configE3, "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", "R1 unit 1", false},
	{"srv-02", configE3, "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", "R1 unit 2", false},
	{"srv-03", configE3, "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", "R1 unit 3", false},
	{"srv-04", configE3, "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", "R1 unit 4", true},
	{"srv-05", configE3, "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", "R1 unit 5", false},
	{"srv-06", configE3, "Xeon E3-1230v6, 16 GB, 2x480 GB SSD", "R1 unit 6", false},
	{"srv-07", configE5, "2x Xeon E5-2620v4, 64 GB, 4x960 GB SSD", "R2 unit 1", false},
	{"srv-08", configE5, "2x Xeon E5-2620v4, 64 GB, 4x960 GB SSD", "R2 unit 2", false},
}

// rackIP is the address a racked server holds while it waits for a buyer
// and its IPmanager group: a parking address, or with fakeParking off its
// permanent public address.
func rackIP(i int) (ip, group string) {
	if fakeParking {
		return fmt.Sprintf("10.0.0.%d", 11+i), "parking"
	}
	return fmt.Sprintf("203.0.113.%d", 11+i), "public"
}

// panels is what the example talks to: fakes started here, or real panels.
type panels struct {
	// panel names the dedicated-server panel: "DCImanager 5" or "6".
	panel string
	// cat holds the data centers and modules (the tariffs are added by the
	// demo); backends are the modules' adapters.
	cat      *billing.Catalog
	mods     []*billing.Module
	backends map[string]provision.DedicatedBackend
	pool     *ipmgr.Pool // nil without IPmanager (DCImanager 5 only)
	link     *billing.IPManagerLink
	mod      *billing.Module   // the DCImanager 5 module
	names    map[string]string // server id → name, for the progress lines

	fakeDCI *dcimanager5test.Server
	fakeIPM *ipmanagertest.Server
	fake6   *dcimanager6test.Server
	closers []func()

	licenses provision.LicenseBackend // -license: the licensing server
	fakeLic  *billmanagertest.Server  // its fake, with the fake panels

	mu     sync.Mutex
	notes6 map[string]string // DCImanager 6 server id → notes of its failure
}

// backend is the adapter of module (a service's Module).
func (p *panels) backend(module string) provision.DedicatedBackend { return p.backends[module] }

func (p *panels) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

func (p *panels) serverName(id string) string {
	if n := p.names[id]; n != "" {
		return n
	}
	if id == "" {
		return "-"
	}
	return "#" + id
}

// restored is what an earlier run left in a durable store. The fakes
// forget everything when the process ends, so a run with -store rebuilds
// them to agree with the store: users with the same ids, sold servers owned
// by their users, servers claimed by unfinished operations owned by the
// administrator (as if their OS install finished while nobody watched),
// and the addresses in use allocated in IPmanager. Real panels need none
// of this: they remember.
type restored struct {
	servers map[int]restoredServer // rack index → state
	users   map[int64]string       // panel user id → name
	used    []string               // addresses in use
}

type restoredServer struct {
	owner      int64 // panel user id; 1 = the administrator
	ip, domain string
}

// dedicatedState is what an operation recorded (nil when nothing yet).
func dedicatedState(op *provision.Operation) *provision.DedicatedState {
	st, err := provision.DecodeData(op)
	if err != nil {
		return nil
	}
	d, _ := st.(*provision.DedicatedState)
	return d
}

// restoreState reads the durable store of an earlier run.
func restoreState(ctx context.Context, st provision.Store, module string) (*restored, error) {
	r := &restored{servers: map[int]restoredServer{}, users: map[int64]string{}}
	addUser := func(id, name string) {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 1 && name != "" {
			r.users[n] = name
		}
	}
	res, err := st.Reservations(ctx, module)
	if err != nil {
		return nil, err
	}
	for _, rv := range res {
		i, err := strconv.Atoi(rv.ServerID)
		if err != nil || i < 1 || i > len(racks) {
			continue
		}
		svc, err := st.GetService(ctx, rv.ServiceID)
		if err != nil {
			return nil, err
		}
		switch svc.Status {
		case billing.StatusActive, billing.StatusSuspended:
			p := svc.Properties
			uid, _ := strconv.ParseInt(p[provision.PropUserID], 10, 64)
			addUser(p[provision.PropUserID], p[provision.PropLogin])
			r.servers[i-1] = restoredServer{owner: uid, ip: p[provision.PropIP], domain: p[provision.PropDomain]}
		default:
			rs := restoredServer{owner: 1}
			if op, err := st.GetOperation(ctx, rv.OperationID); err == nil {
				if d := dedicatedState(op); d != nil {
					rs.domain = d.Domain
				}
			}
			r.servers[i-1] = rs
		}
	}
	svcs, err := st.ListServices(ctx, provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive, billing.StatusSuspended}})
	if err != nil {
		return nil, err
	}
	for _, s := range svcs {
		addUser(s.Properties[provision.PropUserID], s.Properties[provision.PropLogin])
		r.used = append(r.used, s.Properties[provision.PropIP])
		r.used = append(r.used, strings.Split(s.Properties[provision.PropIPs], ",")...)
	}
	ops, err := st.ListOperations(ctx, provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}})
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		d := dedicatedState(op)
		if d == nil {
			continue
		}
		addUser(d.UserID, d.UserName)
		// addresses the operation already took
		r.used = append(r.used, d.Swap.Public, d.Swap.NewParking, d.IP)
		r.used = append(r.used, d.ExtraIPs...)
	}
	return r, nil
}

func (r *restored) server(i int) (restoredServer, bool) {
	if r == nil {
		return restoredServer{}, false
	}
	s, ok := r.servers[i]
	return s, ok
}

// startFakes starts DCImanager 5 and IPmanager in-process with the racks
// above. prev (may be nil) rebuilds the state an earlier run recorded.
func startFakes(o *options, prev *restored, logger *slog.Logger) (*panels, error) {
	dci := dcimanager5test.NewServer(dcimanager5test.WithoutSeed(),
		dcimanager5test.WithPowerDuration(o.fakePower),
		dcimanager5test.WithInstallDuration(o.fakeInstall),
		dcimanager5test.WithConnectionDuration(o.fakePower/4))
	// Strict: a function or parameter the real panel is not known to
	// take is recorded, and the run fails on it (demo.check).
	dci.SetStrict(true)
	p := &panels{fakeDCI: dci, names: map[string]string{}}
	p.closers = append(p.closers, dci.Close)
	dci.AddOSTemplate("ISPsystem", "Debian-12-x86_64", "linux")
	dci.AddOSTemplate("ISPsystem", "Ubuntu-24.04-amd64", "linux")
	dci.AddRecipe("#local__lamp")

	pub, _ := netip.ParsePrefix(publicNet)
	pub6, _ := netip.ParsePrefix(public6Net)
	var allocated []ipmanagertest.Address
	seen := map[netip.Addr]bool{}
	for i, r := range racks {
		ip, group := rackIP(i)
		a := netip.MustParseAddr(ip)
		if fakeParking && prev != nil && prev.servers[i].owner > 1 {
			continue // it holds a public address now
		}
		allocated = append(allocated, ipmanagertest.Address{IP: a, Family: "ipv4", Group: group, Domain: provision.FreeHostname, Note: "rack " + r.name})
		seen[a] = true
	}
	if prev != nil {
		for _, s := range prev.used {
			a, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil || seen[a] || !(pub.Contains(a) || pub6.Contains(a)) {
				continue
			}
			seen[a] = true
			fam := "ipv4"
			if a.Is6() {
				fam = "ipv6"
			}
			allocated = append(allocated, ipmanagertest.Address{IP: a, Family: fam, Group: "public", Note: "earlier run"})
		}
	}
	ipm := ipmanagertest.NewServer(
		ipmanagertest.WithParkingGroup("parking", parkingNet),
		ipmanagertest.WithGroup("public", publicNet, public6Net),
		ipmanagertest.WithAllocated(allocated...))
	ipm.SetStrict(true)
	p.fakeIPM = ipm
	p.closers = append(p.closers, ipm.Close)

	if prev != nil {
		// Same user ids as before: the store refers to them.
		var maxID int64
		for id := range prev.users {
			maxID = max(maxID, id)
		}
		for id := int64(2); id <= maxID; id++ {
			name := prev.users[id]
			if name == "" {
				name = fmt.Sprintf("deleted%d", id)
			}
			if got := dci.AddUser(name, "restored-"+rand.Text()); got != id {
				p.Close()
				return nil, fmt.Errorf("fake data center: user %s got id %d, want %d", name, got, id)
			}
		}
	}
	for i, r := range racks {
		ip, group := rackIP(i)
		spec := dcimanager5test.ServerSpec{Name: r.name, ChassisTemplate: r.config, Type: "1U", ChassisName: r.chassis, Rack: r.unit,
			MAC: fmt.Sprintf("0c:c4:7a:00:01:%02x", i+1), MainIP: ip, IPGroup: group, HWProblem: r.hwProblem}
		if r.hwProblem {
			spec.Notes = "PSU 2 failed, waiting for a spare part"
		}
		if s, ok := prev.server(i); ok {
			spec.Owner, spec.Domain, spec.PoweredOn, spec.OSTemplate = s.owner, s.domain, true, osDebian
			if s.owner > 1 && s.ip != "" {
				spec.MainIP, spec.IPGroup = s.ip, "public"
			}
		}
		id, err := dci.AddServer(spec)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("fake data center: %w", err)
		}
		p.names[strconv.FormatInt(id, 10)] = r.name
	}
	if err := dci.FailNextInstall(failingServer); err != nil {
		p.Close()
		return nil, err
	}

	admin, pw := dci.Admin()
	o.dciURL, o.dciUser, o.dciPassword = dci.URL(), admin, pw
	o.ipmURL, o.ipmUser, o.ipmPassword = ipm.URL(), ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword
	o.parking, o.public = "parking", "public"
	if err := p.connect(o, logger); err != nil {
		p.Close()
		return nil, err
	}
	p.link.NeverChangeIPs = !fakeParking
	return p, nil
}

// connect builds the panel clients, the adapters and the module.
func (p *panels) connect(o *options, logger *slog.Logger) error {
	dopts := []dcimanager5.Option{
		dcimanager5.WithCredentials(o.dciUser, o.dciPassword),
		dcimanager5.WithApplication("ispkit-example-dedicated", "1"),
		dcimanager5.WithRateLimit(o.rate, 10),
		dcimanager5.WithLogger(logger),
	}
	if o.insecure {
		dopts = append(dopts, dcimanager5.WithInsecureSkipVerify())
	}
	dc, err := dcimanager5.NewClient(o.dciURL, dopts...)
	if err != nil {
		return fmt.Errorf("DCImanager client: %w", err)
	}
	p.panel = "DCImanager 5"
	p.mod = &billing.Module{Kind: billing.KindDCImanager5, Name: moduleName, URL: o.dciURL, Username: o.dciUser, Password: o.dciPassword,
		SortOrder: 1, Department: "Data center", DataCenter: "DC1", ErrorRecipient: "noc@example.net"}
	p.mods = []*billing.Module{p.mod}
	p.backends = map[string]provision.DedicatedBackend{moduleName: dci5.New(dc, o.dciUser)}
	p.cat = billing.NewCatalog()
	if err := p.cat.AddDataCenter(&billing.DataCenter{Name: p.mod.DataCenter}); err != nil {
		return err
	}
	if o.ipmURL != "" {
		iopts := []ipmanager.Option{
			ipmanager.WithCredentials(o.ipmUser, o.ipmPassword),
			ipmanager.WithApplication("ispkit-example-dedicated", "1"),
			ipmanager.WithRateLimit(o.rate, 10),
			ipmanager.WithLogger(logger),
		}
		if o.insecure {
			iopts = append(iopts, ipmanager.WithInsecureSkipVerify())
		}
		ic, err := ipmanager.NewClient(o.ipmURL, iopts...)
		if err != nil {
			return fmt.Errorf("IPmanager client: %w", err)
		}
		p.pool = ipmgr.New(ic)
		p.link = &billing.IPManagerLink{URL: o.ipmURL, Username: o.ipmUser, Password: o.ipmPassword, ParkingGroup: o.parking, PublicGroup: o.public}
		p.mod.IPManager = p.link
	}
	return p.cat.AddModule(p.mod)
}

// loadNames reads the server names of a real panel for the progress lines.
func (p *panels) loadNames(ctx context.Context) error {
	p.names = map[string]string{}
	for _, b := range p.backends {
		all, err := b.ListServers(ctx)
		if err != nil {
			return err
		}
		for _, s := range all {
			p.names[s.ID] = s.Name
		}
	}
	return nil
}

// reachability: with the fakes, ask the fake whether the server is up
// (there is no network behind it); real panels get the engine's default
// TCP dial to port 22.
func (p *panels) reachability() provision.Reachability {
	if p.fake6 != nil {
		return p.reachability6()
	}
	if p.fakeDCI == nil {
		return nil
	}
	return func(ctx context.Context, s provision.Server) error {
		id, _ := strconv.ParseInt(s.ID, 10, 64)
		st, ok := p.fakeDCI.Server(id)
		switch {
		case !ok:
			return fmt.Errorf("server %s unknown", s.ID)
		case !st.PowerOn || st.InstallInProgress || st.OperationFailed:
			return fmt.Errorf("%s does not answer on port 22", st.Name)
		}
		return nil
	}
}

// callLog is the slog handler every panel client and the engine log to. It
// counts the panel calls ("ispkit call" records) per panel and, with -v,
// writes every record (the module log; the clients redact secrets).
type callLog struct {
	out   slog.Handler // nil: count only
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
		h.out = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey && len(groups) == 0 {
					return slog.String("time", a.Value.Time().Format("15:04:05.000"))
				}
				return a
			}})
	}
	return slog.New(h), c
}

func (h *callLog) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *callLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "ispkit call" {
		panel := "panel"
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "panel" {
				panel = a.Value.String()
				return false
			}
			return true
		})
		h.c.mu.Lock()
		h.c.n[panel]++
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

func (c *callCounts) snapshot() (total int, per map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	per = map[string]int{}
	for k, v := range c.n {
		per[k] = v
		total += v
	}
	return total, per
}

// sinceStart formats the elapsed time of the progress lines.
func sinceStart(t0 time.Time) string {
	return fmt.Sprintf("%5.1fs", time.Since(t0).Seconds())
}

// strictViolations lists what the fake panels, in strict mode, saw the
// run send that the real panels are not known to take: a function or a
// parameter the fake does not model. Each is a defect of ispkit.
func (p *panels) strictViolations() []string {
	var out []string
	add := func(panel string, vs []string) {
		for _, v := range vs {
			out = append(out, fmt.Sprintf("the fake %s saw a call the real panel is not known to take: %s", panel, v))
		}
	}
	if p.fakeDCI != nil {
		add("DCImanager 5", stringsOf(p.fakeDCI.Violations()))
	}
	if p.fakeIPM != nil {
		add("IPmanager", stringsOf(p.fakeIPM.Violations()))
	}
	if p.fake6 != nil {
		add("DCImanager 6", stringsOf(p.fake6.Violations()))
	}
	return out
}

func stringsOf[T fmt.Stringer](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}
