package dcimanager5_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// exampleClient starts a fake panel with fast operations and a client for
// it.
func exampleClient() (*dcimanager5test.Server, *dcimanager5.Client) {
	srv := dcimanager5test.NewServer(
		dcimanager5test.WithPowerDuration(20*time.Millisecond),
		dcimanager5test.WithInstallDuration(60*time.Millisecond))
	user, pass := srv.Admin()
	c, err := dcimanager5.NewClient(srv.URL(),
		dcimanager5.WithCredentials(user, pass),
		dcimanager5.WithPollInterval(10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	return srv, c
}

func ExampleNewClient() {
	c, err := dcimanager5.NewClient("https://dci.example.com:1500/dcimgr",
		dcimanager5.WithCredentials("billing", "secret"),
		dcimanager5.WithSessionAuth(),
		dcimanager5.WithTimeout(30*time.Second),
		dcimanager5.WithApplication("mybilling", "1.0"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Endpoint())
	// Output: https://dci.example.com:1500/dcimgr
}

func ExampleServersService_ListAvailable() {
	srv, c := exampleClient()
	defer srv.Close()
	free, err := c.Servers.ListAvailable(context.Background(), "E3-16GB")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range free {
		fmt.Println(s.ID, s.Name, s.Hostname, s.IP)
	}
	// Output:
	// 1 srv-01 free.ds 10.10.0.1
	// 2 srv-02 free.ds 10.10.0.2
}

func ExampleServersService_SetOwner() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	admin, err := c.Users.FindByName(ctx, "admin")
	if err != nil {
		log.Fatal(err)
	}
	// Reserve server 1 for the administrator while it is being prepared.
	if err := c.Servers.SetOwner(ctx, 1, admin.ID); err != nil {
		log.Fatal(err)
	}
	s, _ := c.Servers.Get(ctx, 1)
	fmt.Println(s.Owner == admin.ID, s.Available(""))
	// Output: true false
}

func ExampleServersService_Install() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Servers.Install(ctx, 1, dcimanager5.InstallRequest{
		Template: "ISPsystem__Debian-12-x86_64",
		Password: "n3w-r00t-pw",
		Recipe:   "null",
	})
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Servers.WaitInstalled(ctx, 1, nil)
	var failed *dcimanager5.InstallFailedError
	switch {
	case errors.As(err, &failed):
		fmt.Println("install failed")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("installed:", s.Installed(), "powered on:", s.PowerOn)
	}
	// Output: installed: true powered on: true
}

func ExampleIPsService_Add() {
	srv, c := exampleClient()
	defer srv.Close()
	ip, err := c.IPs.Add(context.Background(), 1, dcimanager5.IPAddRequest{
		Family: dcimanager5.FamilyIPv4, Group: "public", Domain: "web1.example.com",
	})
	if dcimanager5.MayHaveHappened(err) {
		// Re-list the server's IPs before trying again.
		log.Fatal(err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ip.Address)
	// Output: 203.0.113.2
}

func ExampleUsersService_LoginURL() {
	srv, c := exampleClient()
	defer srv.Close()
	link, err := c.Users.LoginURL(context.Background(), "client1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(link) > len(srv.URL()))
	// Output: true
}

func ExampleUsersService_AsUser() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	client1, err := c.Users.AsUser(ctx, "client1")
	if err != nil {
		log.Fatal(err)
	}
	mine, err := client1.Servers.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range mine {
		fmt.Println(s.Name, s.Hostname)
	}
	// Output: srv-05 client1.example.com
}
