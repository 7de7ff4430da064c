package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci6"
)

// DCImanager 6: BILLmanager 6 sells its servers from "DCImanager 6
// managed" data centers, one DCImanager 6 location each. The fake's seeded
// data set has two locations (1 Amsterdam, 2 Frankfurt) with E-2146G and
// i9 servers; the example makes one data center and one processing module
// per location, Frankfurt sorted after Amsterdam, and sells i9 servers
// from both: Amsterdam's first, then Frankfurt's.
const (
	config6E2146 = "E-2146G-64Gb-1920SSD"
	config6I9    = "i9-9900K-64Gb-2x1024NVMe"
	os6Ubuntu    = "Ubuntu 24.04"
	os6Debian    = "Debian 12"
	userDomain6  = "clients.example.com"
)

// site6 is a data center of the DCImanager 6 run.
type site6 struct {
	dc     string
	module string
	loc    int64
	sort   int
}

var fakeSites6 = []site6{{"Amsterdam", "dc-ams", 1, 1}, {"Frankfurt", "dc-fra", 2, 2}}

// startFake6 starts the DCImanager 6 fake with its seeded data set.
func startFake6(o *options, logger *slog.Logger) (*panels, error) {
	fake := dcimanager6test.NewServer(dcimanager6test.WithDurations(o.fakeInstall, o.fakePower))
	fake.SetStrict(true) // see startFakes
	p := &panels{fake6: fake, names: map[string]string{}}
	p.closers = append(p.closers, fake.Close)
	for _, m := range fake.Machines() {
		p.names[strconv.FormatInt(m.ID, 10)] = m.Name
	}
	o.dciURL, o.dciUser, o.dciPassword = fake.URL(), dcimanager6test.AdminEmail, dcimanager6test.AdminPassword
	if err := p.connect6(o, fakeSites6, logger); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// connect6 builds the DCImanager 6 client, the data centers, modules and
// adapters. Each adapter takes its location from its module's data center
// in the catalog (dci6.CatalogLocation), so p.cat must be the catalog the
// engine uses.
func (p *panels) connect6(o *options, sites []site6, logger *slog.Logger) error {
	copts := []dcimanager6.Option{
		dcimanager6.WithCredentials(o.dciUser, o.dciPassword),
		dcimanager6.WithApplication("ispkit-example-dedicated", "1"),
		dcimanager6.WithRateLimit(o.rate, 10),
		dcimanager6.WithLogger(logger),
	}
	if o.insecure {
		copts = append(copts, dcimanager6.WithInsecureSkipVerify())
	}
	c, err := dcimanager6.NewClient(o.dciURL, copts...)
	if err != nil {
		return fmt.Errorf("DCImanager 6 client: %w", err)
	}
	p.cat = billing.NewCatalog()
	p.backends = map[string]provision.DedicatedBackend{}
	for _, s := range sites {
		dc := &billing.DataCenter{Name: s.dc, DCImanager6: true, LocationID: s.loc, SortOrder: s.sort}
		mod := &billing.Module{Kind: billing.KindDCImanager6, Name: s.module, URL: o.dciURL, Username: o.dciUser, Password: o.dciPassword,
			SortOrder: 1, Department: "Data center " + s.dc, DataCenter: s.dc, ErrorRecipient: "noc@example.net"}
		if err := p.cat.AddDataCenter(dc); err != nil {
			return err
		}
		if err := p.cat.AddModule(mod); err != nil {
			return err
		}
		b, err := dci6.New(c, dci6.CatalogLocation(p.cat, s.module), dci6.AdminEmail(o.dciUser), dci6.UserDomain(o.userDomain),
			dci6.NotesSink(p.noteSink))
		if err != nil {
			return err
		}
		p.backends[s.module] = b
		p.mods = append(p.mods, mod)
	}
	p.panel = "DCImanager 6"
	return nil
}

// noteSink receives the notes of a failed DCImanager 6 server (DCImanager
// 6 has no notes field the client can write): the example keeps them for
// the summary.
func (p *panels) noteSink(_ context.Context, serverID, notes string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.notes6 == nil {
		p.notes6 = map[string]string{}
	}
	p.notes6[serverID] = notes
	return nil
}

// reachability6 asks the fake whether the server is up: powered on and
// its last operation (the install) finished well.
func (p *panels) reachability6() provision.Reachability {
	return func(ctx context.Context, s provision.Server) error {
		id, _ := strconv.ParseInt(s.ID, 10, 64)
		m, ok := p.fake6.Machine(id)
		if !ok {
			return fmt.Errorf("server %s unknown", s.ID)
		}
		if m.PowerStatus != "on" {
			return fmt.Errorf("%s does not answer on port 22", m.Name)
		}
		if op, ok := p.fake6.Operation(m.OperationID); ok && op.Status != "ok" {
			return fmt.Errorf("%s does not answer on port 22 (%s %s)", m.Name, op.Name, op.Status)
		}
		return nil
	}
}
