package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/ipmgr"
	"github.com/ispkit/ispkit/provision/ispmgr"
)

// Module names of the catalog the bridge builds: every dedicated plan is
// served by "dci", every hosting plan by "isp".
const (
	moduleDCI = "dci"
	moduleISP = "isp"
)

// panelLogin is one panel's entry point and administrator login.
type panelLogin struct {
	url, user, password string
}

// panelFlags say which panels the bridge talks to.
type panelFlags struct {
	dci, ipm, isp   panelLogin
	parking, public string // IPmanager groups
	insecure        bool
	rate            float64 // requests per second per panel
}

// planSpec is one plan of the -plans file (a JSON array of them), the
// bridge's tariff plans. See plans.sample.json.
type planSpec struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Kind is "dedicated" (DCImanager) or "hosting" (ISPmanager).
	Kind string `json:"kind"`

	// Dedicated servers: the configuration (DCImanager chassis template or
	// server type), default OS template and recipe, "don't wait for the OS
	// install", the IP group of extra addresses, the hostname template.
	ServerConfig    string `json:"server_config,omitempty"`
	OSTemplate      string `json:"os_template,omitempty"`
	Recipe          string `json:"recipe,omitempty"`
	DontWaitInstall bool   `json:"dont_wait_install,omitempty"`
	IPGroup         string `json:"ip_group,omitempty"`
	DomainTemplate  string `json:"domain_template,omitempty"`
	// What a customer may choose besides the defaults: further OS
	// templates and recipes, and at most how many extra addresses (default
	// 4 IPv4, 16 IPv6). Anything else is refused (see Choices).
	OSTemplates []string `json:"os_templates,omitempty"`
	Recipes     []string `json:"recipes,omitempty"`
	MaxIPv4     *int     `json:"max_ipv4,omitempty"`
	MaxIPv6     *int     `json:"max_ipv6,omitempty"`

	// Hosting: the ISPmanager account template (preset), the limits that
	// win over it (limit_db, limit_webdomains, ...) and the account name
	// template (default @USERNAME@, from the order's owner).
	AccountTemplate  string            `json:"account_template,omitempty"`
	Limits           map[string]string `json:"limits,omitempty"`
	UsernameTemplate string            `json:"username_template,omitempty"`
}

// defaultPlans are the plans of the fake data center.
var defaultPlans = []planSpec{
	{ID: 1, Name: "Dedicated " + fakeConfig, Kind: "dedicated", ServerConfig: fakeConfig, OSTemplate: fakeOS,
		OSTemplates: []string{fakeOS2}, Recipes: []string{fakeRecipe}},
	{ID: 2, Name: "Hosting Start", Kind: "hosting", AccountTemplate: fakePreset, Limits: map[string]string{"limit_db": "10"}},
}

// loadPlans reads a -plans file.
func loadPlans(path string) ([]planSpec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ps []planSpec
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("plans file %s: %w", path, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("plans file %s: no plans", path)
	}
	return ps, nil
}

// catalog builds the billing catalog: the modules of the panels given and
// one tariff per plan.
func catalog(p panelFlags, plans []planSpec) (*billing.Catalog, error) {
	cat := billing.NewCatalog()
	if p.dci.url != "" {
		m := &billing.Module{Kind: billing.KindDCImanager5, Name: moduleDCI, URL: p.dci.url, Username: p.dci.user,
			Password: p.dci.password, SortOrder: 1, Department: "Data center"}
		if p.ipm.url != "" {
			m.IPManager = &billing.IPManagerLink{URL: p.ipm.url, Username: p.ipm.user, Password: p.ipm.password,
				ParkingGroup: p.parking, PublicGroup: p.public}
		}
		if err := cat.AddModule(m); err != nil {
			return nil, fmt.Errorf("DCImanager module: %w", err)
		}
	}
	if p.isp.url != "" {
		if err := cat.AddModule(&billing.Module{Kind: billing.KindISPmanager, Name: moduleISP, URL: p.isp.url,
			Username: p.isp.user, Password: p.isp.password, SortOrder: 1, Department: "Hosting"}); err != nil {
			return nil, fmt.Errorf("ISPmanager module: %w", err)
		}
	}
	for _, ps := range plans {
		t := &billing.Tariff{ID: ps.ID, Name: ps.Name}
		switch ps.Kind {
		case "dedicated":
			if p.dci.url == "" {
				return nil, fmt.Errorf("plan %d is dedicated: it needs -dci", ps.ID)
			}
			t.ProductType, t.Modules = billing.ProductDedicatedServer, []string{moduleDCI}
			t.ServerConfig, t.OSTemplate, t.Recipe, t.DontWaitInstall = ps.ServerConfig, ps.OSTemplate, ps.Recipe, ps.DontWaitInstall
			t.IPGroup, t.DomainTemplate = ps.IPGroup, ps.DomainTemplate
		case "hosting":
			if p.isp.url == "" {
				return nil, fmt.Errorf("plan %d is hosting: it needs -isp", ps.ID)
			}
			t.ProductType, t.Modules = billing.ProductSharedHosting, []string{moduleISP}
			t.AccountTemplate, t.UsernameTemplate, t.DomainTemplate = ps.AccountTemplate, ps.UsernameTemplate, ps.DomainTemplate
			l, err := billing.LimitsFrom(ps.Limits)
			if err != nil {
				return nil, fmt.Errorf("plan %d: %w", ps.ID, err)
			}
			t.Limits = l
		default:
			return nil, fmt.Errorf(`plan %d: kind must be "dedicated" or "hosting"`, ps.ID)
		}
		if err := cat.AddTariff(t); err != nil {
			return nil, fmt.Errorf("plan %d: %w", ps.ID, err)
		}
	}
	return cat, nil
}

// engineSetup is what newEngine builds an engine from.
type engineSetup struct {
	panels panelFlags
	plans  []planSpec
	store  provision.Store
	// reach checks an installed server; nil is the engine's default (TCP
	// dial to port 22).
	reach          provision.Reachability
	logger         *slog.Logger // the engine's
	panelLogger    *slog.Logger // the panel clients'
	workers        int
	installTimeout time.Duration
	poll           time.Duration
}

// newEngine connects the panel clients (their log of panel calls, secrets
// redacted, goes to panelLogger) and builds the provisioning engine.
func newEngine(s engineSetup) (*provision.Engine, *billing.Catalog, error) {
	cat, err := catalog(s.panels, s.plans)
	if err != nil {
		return nil, nil, err
	}
	const app, version = "ispkit-bridge", "1"
	p := s.panels
	cfg := provision.Config{
		Store: s.store, Catalog: cat, Workers: s.workers, Logger: s.logger, Reachability: s.reach,
		InstallTimeout: s.installTimeout, PollInterval: s.poll, ClaimInterval: s.poll,
		Dedicated: map[string]provision.DedicatedBackend{}, Hosting: map[string]provision.HostingBackend{},
		IPPools: map[string]provision.IPPool{},
	}
	if p.dci.url != "" {
		opts := []dcimanager5.Option{dcimanager5.WithCredentials(p.dci.user, p.dci.password),
			dcimanager5.WithApplication(app, version), dcimanager5.WithRateLimit(p.rate, 10), dcimanager5.WithLogger(s.panelLogger)}
		if p.insecure {
			opts = append(opts, dcimanager5.WithInsecureSkipVerify())
		}
		c, err := dcimanager5.NewClient(p.dci.url, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("DCImanager client: %w", err)
		}
		cfg.Dedicated[moduleDCI] = dci5.New(c, p.dci.user)
		if p.ipm.url != "" {
			opts := []ipmanager.Option{ipmanager.WithCredentials(p.ipm.user, p.ipm.password),
				ipmanager.WithApplication(app, version), ipmanager.WithRateLimit(p.rate, 10), ipmanager.WithLogger(s.panelLogger)}
			if p.insecure {
				opts = append(opts, ipmanager.WithInsecureSkipVerify())
			}
			c, err := ipmanager.NewClient(p.ipm.url, opts...)
			if err != nil {
				return nil, nil, fmt.Errorf("IPmanager client: %w", err)
			}
			cfg.IPPools[moduleDCI] = ipmgr.New(c)
		}
	}
	if p.isp.url != "" {
		opts := []ispmanager.Option{ispmanager.WithCredentials(p.isp.user, p.isp.password),
			ispmanager.WithApplication(app, version), ispmanager.WithRateLimit(p.rate, 10), ispmanager.WithLogger(s.panelLogger)}
		if p.insecure {
			opts = append(opts, ispmanager.WithInsecureSkipVerify())
		}
		c, err := ispmanager.NewClient(p.isp.url, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("ISPmanager client: %w", err)
		}
		cfg.Hosting[moduleISP] = ispmgr.New(c)
	}
	e, err := provision.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return e, cat, nil
}
