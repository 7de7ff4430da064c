// Command dcimanager6 walks through selling a dedicated server with the
// dcimanager6 client: list locations and free servers, create a customer,
// assign a server, install an OS while printing progress, print the result.
//
//	go run ./examples/dcimanager6                 # against an in-process fake panel
//	go run ./examples/dcimanager6 -url https://dci.example.com -email admin@example.com -password …
//	                                              # real panel, read-only
//	go run ./examples/dcimanager6 -url … -install # real panel: creates a user, assigns and installs a server
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

func main() {
	var (
		panelURL   = flag.String("url", "", "panel base URL; empty starts an in-process fake")
		email      = flag.String("email", "", "administrator e-mail (real panel)")
		password   = flag.String("password", "", "administrator password (real panel; or env DCI6_PASSWORD)")
		prefix     = flag.String("prefix", "/api", "API prefix")
		insecure   = flag.Bool("insecure", false, "skip TLS verification (self-signed panels)")
		install    = flag.Bool("install", false, "with -url: create a user, assign a free server and install an OS")
		locationID = flag.Int64("location", 0, "location ID (0 = the first)")
		config     = flag.String("config", "", "server configuration to sell (empty = any)")
		templateID = flag.Int64("template", 0, "OS template ID (0 = the first OS template of the location)")
	)
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), `dcimanager6 sells a dedicated server with the DCImanager 6 client (locations, free servers, customer, assignment, OS install with progress); without -url against a fake DCImanager 6 started in-process.

Usage: dcimanager6 [flags]
  Real panel, read only (locations, free servers):
    DCI6_PASSWORD=... dcimanager6 -url https://dci6.example.com -email admin@example.com
  Real panel, assigning a server and installing an OS:
    DCI6_PASSWORD=... dcimanager6 -url ... -email admin@example.com -install

Flags:
`)
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if err := run(ctx, *panelURL, *email, *password, *prefix, *insecure, *install, *locationID, *config, *templateID); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, panelURL, email, password, prefix string, insecure, install bool, locationID int64, config string, templateID int64) error {
	opts := []dcimanager6.Option{dcimanager6.WithApplication("ispkit-example", "1"), dcimanager6.WithAPIPrefix(prefix)}
	if panelURL == "" {
		fake := dcimanager6test.NewServer(dcimanager6test.WithDurations(1500*time.Millisecond, 200*time.Millisecond))
		defer fake.Close()
		panelURL, email, password, install = fake.URL(), dcimanager6test.AdminEmail, dcimanager6test.AdminPassword, true
		opts = append(opts, dcimanager6.WithPollInterval(100*time.Millisecond, 300*time.Millisecond))
		fmt.Println("started a fake DCImanager 6 at", panelURL)
	} else {
		if password == "" {
			password = os.Getenv("DCI6_PASSWORD")
		}
		if insecure {
			opts = append(opts, dcimanager6.WithInsecureSkipVerify())
		}
		opts = append(opts, dcimanager6.WithPollInterval(2*time.Second, 15*time.Second))
	}
	client, err := dcimanager6.NewClient(panelURL, append(opts, dcimanager6.WithCredentials(email, password))...)
	if err != nil {
		return err
	}

	fmt.Println("locations:")
	var locs []dcimanager6.Location
	for l, err := range client.Locations.All(ctx, nil) {
		if err != nil {
			return err
		}
		locs = append(locs, l)
		fmt.Printf("  %d %s\n", l.ID, l.Name)
	}
	if locationID == 0 {
		if len(locs) == 0 {
			return errors.New("the panel has no locations")
		}
		locationID = locs[0].ID
	}

	counts, err := client.Servers.FreeCounts(ctx, &dcimanager6.ListOptions{Where: dcimanager6.EQ("location_id", locationID)})
	if err != nil {
		return err
	}
	fmt.Printf("free servers per configuration in location %d:\n", locationID)
	for _, c := range counts {
		fmt.Printf("  %-28s %d\n", c.Configuration, c.FreeServerCount)
	}
	free, total, err := client.Servers.ListFree(ctx, locationID, config,
		&dcimanager6.ListOptions{OrderBy: dcimanager6.Asc("name"), Limit: dcimanager6.Limit(0, 20)})
	if err != nil {
		return err
	}
	fmt.Printf("free servers (%d):\n", total)
	for _, s := range free {
		fmt.Printf("  %d %-12s %s\n", s.ID, s.Name, s.Configuration)
	}
	if !install {
		fmt.Println("read-only run: pass -install to assign a server and install an OS")
		return nil
	}
	if len(free) == 0 {
		return errors.New("no free server to sell")
	}
	srv := free[0]

	if templateID == 0 {
		tmpls, _, err := client.OSTemplates.List(ctx, locationID, &dcimanager6.ListOptions{Where: dcimanager6.EQ("type", "os")})
		if err != nil {
			return err
		}
		if len(tmpls) == 0 {
			return errors.New("no OS template in the location")
		}
		templateID = tmpls[0].ID
		fmt.Printf("OS template: %d %s\n", tmpls[0].ID, tmpls[0].Name)
	}

	customer := fmt.Sprintf("customer-%s@example.com", randomHex(4))
	userID, err := client.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: customer, Password: randomHex(12), FullName: "Example Customer"})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	fmt.Printf("created user %d %s\n", userID, customer)
	if err := client.Servers.SetOwner(ctx, srv.ID, userID); err != nil {
		return fmt.Errorf("assign server: %w", err)
	}
	fmt.Printf("assigned server %d (%s) to user %d\n", srv.ID, srv.Name, userID)

	hostname := fmt.Sprintf("srv%d.example.com", srv.ID)
	res, err := client.Servers.Install(ctx, srv.ID, dcimanager6.InstallRequest{
		TemplateID: templateID, Password: randomHex(12), Hostname: hostname})
	if err != nil {
		return fmt.Errorf("start install: %w", err)
	}
	fmt.Printf("installing (operation %d):\n", res.OperationID)
	waitOpts := []dcimanager6.WaitOption{dcimanager6.WithProgress(func(op *dcimanager6.Operation) {
		done, all := op.Progress()
		stage := op.CurrentStage()
		if stage == "" {
			stage = op.Status
		}
		fmt.Printf("  [%d/%d] %s\n", done, all, stage)
	})}
	if res.OperationID != 0 {
		waitOpts = append(waitOpts, dcimanager6.ForOperation(res.OperationID))
	}
	done, err := client.Servers.WaitInstalled(ctx, srv.ID, waitOpts...)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	fmt.Println("result:")
	fmt.Printf("  server   %d %s\n", done.ID, done.Name)
	fmt.Printf("  domain   %s\n", done.Domain)
	fmt.Printf("  owner    %s\n", done.OwnerEmail)
	if done.OSTemplate != nil {
		fmt.Printf("  os       %s\n", done.OSTemplate.Name)
	}
	fmt.Printf("  power    %s\n", done.PowerStatus)
	for _, ip := range done.IPs {
		fmt.Printf("  ip       %s (%s, gateway %s)\n", ip.Name, ip.Family, ip.Gateway)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
