// Command dcimanager5 provisions a dedicated server the way a billing
// system does: it lists the free servers of a configuration, reserves one,
// creates the customer, powers the server on, gives it an address, installs
// an OS while printing progress, and hands the server to the customer.
//
// Without flags it starts the fake panel from dcimanager5test in-process:
//
//	go run ./examples/dcimanager5
//
// With -url, -user and -password it talks to a real DCImanager 5 and only
// reads (connection check, free servers, OS templates) unless -install is
// given:
//
//	go run ./examples/dcimanager5 -url https://dci.example.com:1500/dcimgr -user billing -password ... [-insecure] [-install]
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

type flags struct {
	url, user, password string
	insecure, install   bool
	verbose             bool
	config, template    string
	recipe, customer    string
	domain              string
	timeout             time.Duration
}

func main() {
	var f flags
	flag.StringVar(&f.url, "url", "", "DCImanager 5 entry point, e.g. https://dci.example.com:1500/dcimgr (empty: run the fake panel)")
	flag.StringVar(&f.user, "user", "", "administrator login")
	flag.StringVar(&f.password, "password", "", "administrator password (or DCI_PASSWORD)")
	flag.BoolVar(&f.insecure, "insecure", false, "skip TLS verification (self-signed panels)")
	flag.BoolVar(&f.install, "install", false, "with -url: really reserve a server and install an OS")
	flag.BoolVar(&f.verbose, "v", false, "log every call (secrets redacted)")
	flag.StringVar(&f.config, "config", "E3-16GB", "server configuration (chassis template or type)")
	flag.StringVar(&f.template, "template", "ISPsystem__Debian-12-x86_64", "OS template <repo>__<name>")
	flag.StringVar(&f.recipe, "recipe", "null", "recipe: null, #local__<name> or <repo>__<name>")
	flag.StringVar(&f.customer, "customer", "demo_customer", "panel user who receives the server")
	flag.StringVar(&f.domain, "domain", "demo1.example.com", "domain for the server's addresses")
	flag.DurationVar(&f.timeout, "timeout", 2*time.Hour, "overall deadline")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), `dcimanager5 provisions a dedicated server on DCImanager 5 as a billing system does (free servers, customer, power, address, OS install with progress); without -url against a fake DCImanager 5 started in-process.

Usage: dcimanager5 [flags]
  Real panel, read only (connection, free servers, OS templates):
    DCI_PASSWORD=... dcimanager5 -url https://dci.example.com:1500/dcimgr -user admin
  Real panel, reserving a server and installing an OS:
    DCI_PASSWORD=... dcimanager5 -url ... -user admin -install -config E3-16GB

Flags:
`)
		flag.PrintDefaults()
	}
	flag.Parse()
	if f.password == "" {
		f.password = os.Getenv("DCI_PASSWORD")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	fake := f.url == ""
	poll := dcimanager5.WithPollInterval(5*time.Second, 30*time.Second)
	if fake {
		srv := dcimanager5test.NewServer(
			dcimanager5test.WithPowerDuration(400*time.Millisecond),
			dcimanager5test.WithInstallDuration(2*time.Second))
		defer srv.Close()
		f.url = srv.URL()
		f.user, f.password = srv.Admin()
		f.install = true
		poll = dcimanager5.WithPollInterval(100*time.Millisecond, 300*time.Millisecond)
		fmt.Println("started the fake DCImanager 5 at", f.url)
	}
	if f.user == "" || f.password == "" {
		return errors.New("-user and -password (or DCI_PASSWORD) are required with -url")
	}
	opts := []dcimanager5.Option{
		dcimanager5.WithCredentials(f.user, f.password),
		dcimanager5.WithSessionAuth(),
		dcimanager5.WithApplication("ispkit-example", "1"),
		poll,
	}
	if f.insecure {
		opts = append(opts, dcimanager5.WithInsecureSkipVerify())
	}
	if f.verbose {
		opts = append(opts, dcimanager5.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	c, err := dcimanager5.NewClient(f.url, opts...)
	if err != nil {
		return err
	}
	if err := c.CheckConnection(ctx); err != nil {
		return fmt.Errorf("connection check: %w", err)
	}
	fmt.Println("connected as", f.user)

	free, err := c.Servers.ListAvailable(ctx, f.config)
	if err != nil {
		return err
	}
	fmt.Printf("%d free server(s) of configuration %q:\n", len(free), f.config)
	for _, s := range free {
		fmt.Printf("  #%-4d %-10s %-15s %s\n", s.ID, s.Name, s.IP, s.ChassisName)
	}
	if !f.install {
		tpls, err := c.OSTemplates.List(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("%d OS template(s):\n", len(tpls))
		for _, t := range tpls {
			fmt.Println("  " + t.ID)
		}
		fmt.Println("read-only run: pass -install to provision a server")
		return nil
	}
	if len(free) == 0 {
		return fmt.Errorf("no free server of configuration %q", f.config)
	}
	return provision(ctx, c, f, free[0])
}

func provision(ctx context.Context, c *dcimanager5.Client, f flags, s dcimanager5.Server) (err error) {
	admin, err := c.Users.FindByName(ctx, f.user)
	if err != nil {
		return err
	}
	// Reserve: the administrator owns the server while it is prepared.
	if err := c.Servers.SetOwner(ctx, s.ID, admin.ID); err != nil {
		return fmt.Errorf("reserve: %w", err)
	}
	fmt.Printf("reserved server #%d %s\n", s.ID, s.Name)
	defer func() {
		if err == nil {
			return
		}
		// Give the server back, as the WHMCS module does on failure.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = c.IPs.SetAllDomains(rctx, s.ID, dcimanager5.FreeHostname)
		_ = c.Servers.ClearOwner(rctx, s.ID)
		fmt.Printf("released server #%d after the failure\n", s.ID)
	}()

	customer, err := c.Users.FindByName(ctx, f.customer)
	if dcimanager5.IsNotFound(err) {
		customer, err = c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: f.customer, Password: randomPassword(16)})
		if err == nil {
			fmt.Printf("created user %s (#%d)\n", customer.Name, customer.ID)
		}
	}
	if err != nil {
		return fmt.Errorf("customer: %w", err)
	}

	if err := c.Servers.Enable(ctx, s.ID); err != nil {
		return err
	}
	if err := c.Servers.PowerOn(ctx, s.ID); err != nil {
		return err
	}
	start := time.Now()
	if _, err := c.Servers.WaitPoweredOn(ctx, s.ID, nil); err != nil {
		return err
	}
	fmt.Printf("powered on in %s\n", time.Since(start).Round(10*time.Millisecond))

	if err := c.IPs.SetAllDomains(ctx, s.ID, f.domain); err != nil {
		return err
	}
	ip, err := c.IPs.Add(ctx, s.ID, dcimanager5.IPAddRequest{Family: dcimanager5.FamilyIPv4, Group: dcimanager5.DefaultIPGroup, Domain: f.domain})
	if err != nil {
		if dcimanager5.MayHaveHappened(err) {
			fmt.Println("the address may have been allocated; check the server's IPs")
		}
		return err
	}
	fmt.Println("allocated", ip.Address)

	rootPW := randomPassword(20)
	if err := c.Servers.Install(ctx, s.ID, dcimanager5.InstallRequest{Template: f.template, Password: rootPW, Recipe: f.recipe, Hostname: f.domain}); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	fmt.Printf("installing %s", f.template)
	start = time.Now()
	last := ""
	done, err := c.Servers.WaitInstalled(ctx, s.ID, &dcimanager5.WaitOptions{OnProgress: func(sv dcimanager5.Server) {
		st := state(sv)
		if st != last {
			fmt.Printf("\n  %6s  %s", time.Since(start).Round(10*time.Millisecond), st)
			last = st
		} else {
			fmt.Print(".")
		}
	}})
	fmt.Println()
	var failed *dcimanager5.InstallFailedError
	if errors.As(err, &failed) {
		return fmt.Errorf("the panel reports the installation failed on server #%d", failed.ServerID)
	}
	if err != nil {
		return err
	}
	fmt.Printf("installed in %s\n", time.Since(start).Round(10*time.Millisecond))

	if err := c.Servers.SetOwner(ctx, s.ID, customer.ID); err != nil {
		return err
	}
	ips, err := c.IPs.List(ctx, s.ID)
	if err != nil {
		return err
	}
	wiring, err := c.Connections.Summary(ctx, s.ID)
	if err != nil {
		return err
	}
	link, err := c.Users.LoginURL(ctx, customer.Name)
	if err != nil {
		return err
	}
	if u, perr := url.Parse(link); perr == nil {
		q := u.Query()
		q.Set("key", "REDACTED")
		u.RawQuery = q.Encode()
		link = u.String()
	}
	addrs := make([]string, 0, len(ips))
	for _, a := range ips {
		addrs = append(addrs, a.Address)
	}
	fmt.Println("result:")
	fmt.Printf("  server     #%d %s (%s)\n", done.ID, done.Name, done.ChassisName)
	fmt.Printf("  hostname   %s\n", done.Hostname)
	fmt.Printf("  addresses  %s\n", strings.Join(addrs, ", "))
	fmt.Printf("  owner      %s (#%d)\n", customer.Name, customer.ID)
	fmt.Printf("  switch     %s, IPMI %s\n", wiring.SwitchPort, wiring.IPMIAddress)
	fmt.Printf("  OS         %s (root password generated, %d characters, not printed)\n", f.template, len(rootPW))
	fmt.Printf("  panel      %s\n", link)
	return nil
}

func state(s dcimanager5.Server) string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{s.InstallInProgress, "install_in_progress"}, {s.OperationFailed, "operation_failed"},
		{s.PowerOn, "poweron"}, {s.PowerOff, "poweroff"}, {s.PowerError, "powererror"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		return "(no flags)"
	}
	return strings.Join(parts, " ")
}

// randomPassword returns n random letters and digits.
func randomPassword(n int) string {
	return rand.Text()[:min(n, 26)]
}
