// Command hosting-client creates an ISPmanager hosting account from a
// template plus tariff limits, prints its effective limits and an SSO
// link, then suspends it.
//
// With no flags it starts the fake panel in-process:
//
//	go run ./examples/hosting-client
//	go run ./examples/hosting-client -url https://host:1500/ispmgr -user admin -password … -insecure
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

func main() {
	panelURL := flag.String("url", "", "ISPmanager entry point; empty starts the fake panel")
	user := flag.String("user", "", "administrator login")
	password := flag.String("password", "", "administrator password (better: $ISP_PASSWORD)")
	insecure := flag.Bool("insecure", false, "skip TLS verification (self-signed :1500)")
	name := flag.String("name", "demo117", "user to create")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), `hosting-client creates an ISPmanager hosting account from a template plus tariff limits with the ispmanager client, prints its limits and a log-in link, then suspends it; without -url against a fake ISPmanager started in-process.

Usage: hosting-client [flags]
  Real panel (creates and suspends a real account):
    ISP_PASSWORD=... hosting-client -url https://host:1500/ispmgr -user admin -name demo117

Flags:
`)
		flag.PrintDefaults()
	}
	flag.Parse()
	if *password == "" {
		*password = os.Getenv("ISP_PASSWORD")
	}

	opts := []ispmanager.Option{}
	if *panelURL == "" {
		srv := ispmanagertest.NewServer(ispmanagertest.WithPreset("Site hosting",
			ispmanager.Limits{Databases: ispmanager.Int(25), Domains: ispmanager.Int(25)}))
		defer srv.Close()
		*panelURL = srv.URL()
		*user, *password = srv.Admin()
	}
	opts = append(opts, ispmanager.WithCredentials(*user, *password), ispmanager.WithApplication("hosting-client", "0.1"))
	if *insecure {
		opts = append(opts, ispmanager.WithInsecureSkipVerify())
	}
	if err := run(*panelURL, *name, opts); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(panelURL, name string, opts []ispmanager.Option) error {
	ctx := context.Background()
	c, err := ispmanager.NewClient(panelURL, opts...)
	if err != nil {
		return err
	}
	ed, err := c.Edition(ctx)
	if err != nil {
		return err
	}
	fmt.Println("edition:", ed)
	tariff := ispmanager.Limits{Databases: ispmanager.Int(10)}
	_, err = c.Users.Create(ctx, &ispmanager.UserCreateRequest{
		Name: name, Password: "Ch4nge-me-" + name, Preset: "Site hosting", Limits: tariff,
	})
	if err != nil {
		return err
	}
	u, err := c.Users.Get(ctx, name)
	if err != nil {
		return err
	}
	fmt.Println("limits:", u.Limits)
	link, err := c.LoginURL(ctx, name)
	if err != nil {
		return err
	}
	fmt.Println("login link created:", len(link) > 0)
	return c.Users.Suspend(ctx, name)
}
