// Command dedicated is ispkit's main example: it sells dedicated servers
// the way BILLmanager does, through the provision engine, from DCImanager 5
// (-panel dci5, the default) or DCImanager 6 (-panel dci6).
//
// With no flags it starts a fake DCImanager 5 and a fake IPmanager
// in-process (eight servers of two configurations, one with a hardware
// problem, one whose disk dies during the OS install; a parking and a
// public IP group), builds a billing catalog (a module linked to IPmanager,
// two tariffs), orders several servers at once through the engine's worker
// pool while printing its progress events, shows the order that fails over
// to another server, then runs the rest of a service's life on one of the
// new services (log-in link, password change, an extra address added and
// removed, OS reinstall, suspend, resume, close), and prints a summary.
// The welcome message of each new service is rendered from a Go template
// (welcome.go) by a billing.Notifier, which also shows the failures that
// would go to the module's error recipient.
//
// With -panel dci6 it starts a fake DCImanager 6 instead (two locations,
// Amsterdam and Frankfurt, each a "DCImanager 6 managed" data center with
// its processing module, Amsterdam sorted first) and runs the same
// lifecycle; servers of a tariff sold in both data centers come from
// Amsterdam first, then Frankfurt:
//
//	go run ./examples/dedicated
//	go run ./examples/dedicated -panel dci6
//	go run ./examples/dedicated -extra-ipv4 1 -recipe '#local__lamp' -no-wait
//	go run ./examples/dedicated -license 55227   # an ISPmanager license with every server (fake licensing server)
//	go run ./examples/dedicated -orders 12 -workers 8
//	go run ./examples/dedicated -v                 # the module log: every panel call (redacted)
//	go run ./examples/dedicated -store demo.db     # durable SQLite store; run it again to resume
//	go run ./examples/dedicated -postgres postgres://user@host/db
//
// Against real panels (this provisions real servers: it takes free
// servers, installs an OS on them and hands them to demo users):
//
//	go run ./examples/dedicated -yes -orders 1 \
//	    -dci https://dci.example.com/dcimgr -dci-user admin -dci-password … \
//	    -ipmgr https://ip.example.com/ipmgr -ipmgr-user billing -ipmgr-password … \
//	    -config E3-16GB -os ISPsystem__Debian-12-x86_64 -insecure
//
//	go run ./examples/dedicated -panel dci6 -yes -orders 1 \
//	    -dci https://dci6.example.com -dci-user admin@example.com -dci-password … \
//	    -location 1 -user-domain clients.example.com \
//	    -config E-2146G-64Gb-1920SSD -os 'Ubuntu 24.04'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ispkit/ispkit/billmanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "dedicated: error:", err)
		os.Exit(1)
	}
}

type options struct {
	panel                        string
	dciURL, dciUser, dciPassword string
	location                     int64
	userDomain                   string
	recipe                       string
	noWait                       bool
	extraIPv4, extraIPv6         int
	license                      int64
	licURL, licUser, licPassword string
	ipmURL, ipmUser, ipmPassword string
	parking, public              string
	config, os, domain           string
	insecure, yes, keep          bool
	orders, workers              int
	store, postgres              string
	verbose, steps               bool
	rate                         float64
	installTimeout               time.Duration
	fakeInstall, fakePower       time.Duration

	real bool // -dci given
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("dedicated", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.panel, "panel", "dci5", "dedicated-server panel: dci5 (DCImanager 5) or dci6 (DCImanager 6)")
	fs.StringVar(&o.dciURL, "dci", "", "DCImanager entry point, e.g. https://dci.example.com/dcimgr (5) or https://dci6.example.com (6)\n(default: start a fake in-process)")
	fs.StringVar(&o.dciUser, "dci-user", "", "DCImanager administrator login (DCImanager 6: the administrator's e-mail)")
	fs.StringVar(&o.dciPassword, "dci-password", "", "DCImanager administrator password (or $DCI_PASSWORD)")
	fs.StringVar(&o.ipmURL, "ipmgr", "", "IPmanager entry point, e.g. https://ip.example.com/ipmgr (optional with -dci)")
	fs.StringVar(&o.ipmUser, "ipmgr-user", "", "IPmanager login")
	fs.StringVar(&o.ipmPassword, "ipmgr-password", "", "IPmanager password (or $IPMGR_PASSWORD)")
	fs.Int64Var(&o.location, "location", 0, "DCImanager 6 location id the servers come from (real DCImanager 6; required there)")
	fs.StringVar(&o.userDomain, "user-domain", "", "DCImanager 6: e-mail domain of the customers' panel users, <name>@<domain>\n(required with a real DCImanager 6; the fake uses "+userDomain6+")")
	fs.StringVar(&o.parking, "ipmgr-parking", "parking", "IPmanager group of parked (free) servers; empty disables the address swap")
	fs.StringVar(&o.public, "ipmgr-public", "public", "IPmanager group customer addresses come from")
	fs.StringVar(&o.config, "config", "", "server configuration to order (chassis template or server type; real panels)")
	fs.StringVar(&o.os, "os", "", "OS template to install (real panels; DCImanager 5 default "+osDebian+"; the fakes' tariffs name theirs)")
	fs.StringVar(&o.recipe, "recipe", "", "recipe to run after the OS install, e.g. '#local__lamp' (default: the tariff's)")
	fs.BoolVar(&o.noWait, "no-wait", false, "don't wait for the OS install: activate each service once its install has started")
	fs.IntVar(&o.extraIPv4, "extra-ipv4", 0, "additional IPv4 addresses ordered with every server")
	fs.IntVar(&o.extraIPv6, "extra-ipv6", 0, "additional IPv6 addresses ordered with every server")
	fs.Int64Var(&o.license, "license", 0, "sell an ISPsystem license with every server: the licensing server's tariff code, e.g. 55227\n(ISPmanager 6 Lite); with the fakes a fake licensing server is started")
	fs.StringVar(&o.licURL, "license-url", billmanager.ISPsystemURL, "licensing server (upstream BILLmanager) API URL, with -license and real panels")
	fs.StringVar(&o.licUser, "license-user", "", "licensing server login, with -license and real panels")
	fs.StringVar(&o.licPassword, "license-password", "", "licensing server password (or $LICENSE_PASSWORD)")
	fs.StringVar(&o.domain, "domain", "s@ID@.example.net", "domain template of the servers (macros @ID@, @USERNAME@, @ACCOUNT_ID@)")
	fs.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification (self-signed panels on :1500)")
	fs.BoolVar(&o.yes, "yes", false, "confirm that real servers may be provisioned (required with -dci)")
	fs.BoolVar(&o.keep, "keep", false, "do not suspend, resume and close one of the new services")
	fs.IntVar(&o.orders, "orders", 0, "number of servers to order (default 7 with DCImanager 5, 6 with DCImanager 6)")
	fs.IntVar(&o.workers, "workers", 4, "engine worker pool size (operations run at once)")
	fs.StringVar(&o.store, "store", "", "SQLite file for a durable store; running again resumes unfinished operations")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL for a durable store shared by several workers")
	fs.BoolVar(&o.verbose, "v", false, "log every panel call and engine step to stderr (the module log; secrets redacted)")
	fs.BoolVar(&o.steps, "steps", false, "print every step started/finished event")
	fs.Float64Var(&o.rate, "rate", 0, "panel requests per second per panel (default 200 for the fakes, 10 for real panels)")
	fs.DurationVar(&o.installTimeout, "install-timeout", 0, "how long to wait for an OS install (default 30s for the fakes, 720s for real panels)")
	fs.DurationVar(&o.fakeInstall, "fake-install", 1500*time.Millisecond, "how long an OS install takes in the fake")
	fs.DurationVar(&o.fakePower, "fake-power", 200*time.Millisecond, "how long power-on takes in the fake")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "dedicated sells dedicated servers through the ispkit provisioning engine, from\n"+
			"DCImanager 5 or 6 (fake panels started in-process unless -dci points at real ones).\n\n"+
			"Usage: dedicated [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}
	ordersSet := false
	fs.Visit(func(f *flag.Flag) { ordersSet = ordersSet || f.Name == "orders" })
	switch o.panel {
	case "dci5", "dci6":
	default:
		return nil, fmt.Errorf("-panel %q: want dci5 or dci6", o.panel)
	}
	if !ordersSet {
		o.orders = map[string]int{"dci5": 7, "dci6": 6}[o.panel]
	}
	if o.orders < 0 || o.workers < 1 || o.extraIPv4 < 0 || o.extraIPv6 < 0 {
		return nil, errors.New("-orders, -extra-ipv4 and -extra-ipv6 must be ≥ 0 and -workers ≥ 1")
	}
	if o.store != "" && o.postgres != "" {
		return nil, errors.New("use -store or -postgres, not both")
	}
	o.real = o.dciURL != ""
	if o.dciPassword == "" {
		o.dciPassword = os.Getenv("DCI_PASSWORD")
	}
	if o.ipmPassword == "" {
		o.ipmPassword = os.Getenv("IPMGR_PASSWORD")
	}
	if o.licPassword == "" {
		o.licPassword = os.Getenv("LICENSE_PASSWORD")
	}
	if o.license < 0 {
		return nil, errors.New("-license must be a positive tariff code")
	}
	if o.panel == "dci6" {
		switch {
		case o.ipmURL != "":
			return nil, errors.New("-ipmgr: DCImanager 6 manages its addresses itself (use it with -panel dci5)")
		case !o.real && (o.store != "" || o.postgres != ""):
			return nil, errors.New("-store and -postgres need real panels with -panel dci6: the DCImanager 6 fake cannot be rebuilt from a store")
		case !o.real && o.location != 0:
			return nil, errors.New("-location needs -dci (the fake has locations 1 and 2 and uses both)")
		case o.real && o.location <= 0:
			return nil, errors.New("-panel dci6 with -dci needs -location: the DCImanager 6 location id to sell from")
		case o.real && o.userDomain == "":
			return nil, errors.New("-panel dci6 with -dci needs -user-domain: customers' panel users are <name>@<domain>")
		}
		if o.userDomain == "" {
			o.userDomain = userDomain6
		}
	} else if o.location != 0 || o.userDomain != "" {
		return nil, errors.New("-location and -user-domain are for -panel dci6")
	}
	if o.real {
		switch {
		case o.dciUser == "" || o.dciPassword == "":
			return nil, errors.New("-dci needs -dci-user and -dci-password")
		case o.config == "":
			return nil, errors.New("-dci needs -config: the server configuration (chassis template or type) to order")
		case o.os == "" && o.panel == "dci6":
			return nil, errors.New("-panel dci6 with -dci needs -os: the OS template to install (its name in the location)")
		case o.ipmURL != "" && (o.ipmUser == "" || o.ipmPassword == ""):
			return nil, errors.New("-ipmgr needs -ipmgr-user and -ipmgr-password")
		}
		if o.os == "" {
			o.os = osDebian
		}
		if o.rate == 0 {
			o.rate = 10
		}
		if o.installTimeout == 0 {
			o.installTimeout = 720 * time.Second
		}
	} else {
		if o.ipmURL != "" || o.config != "" || o.os != "" {
			return nil, errors.New("-ipmgr, -config and -os need -dci (without -dci the example uses its fake panels)")
		}
		if o.rate == 0 {
			o.rate = 200
		}
		if o.installTimeout == 0 {
			o.installTimeout = 30 * time.Second
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	d := &demo{o: o, out: stdout, t0: time.Now()}
	defer d.close()
	return d.run(ctx)
}
