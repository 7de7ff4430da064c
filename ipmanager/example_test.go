package ipmanager_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
)

// exampleClient starts a fake panel in-process; with a real panel use its
// URL (https://host:1500/ipmgr) and an account of your own.
func exampleClient(opts ...ipmanagertest.Option) (*ipmanagertest.Server, *ipmanager.Client) {
	srv := ipmanagertest.NewServer(opts...)
	c, err := ipmanager.NewClient(srv.URL(),
		ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
	if err != nil {
		log.Fatal(err)
	}
	return srv, c
}

func ExampleClient_Allocate() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()

	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{
		Family: ipmanager.IPv4,
		Group:  "public",
		Domain: "srv1.example.com",
		Note:   "order-1001",
	})
	switch {
	case ipmanager.IsPoolExhausted(err):
		log.Fatal("no free address in the group")
	case ipmanager.IsUncertain(err):
		// Sent once, answer lost: look before allocating again.
		found, ferr := c.FindByDomainNote(ctx, "srv1.example.com", "order-1001")
		fmt.Println(found, ferr)
		return
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(a.IP, a.Group, a.Domain)
	// Output: 198.51.100.1 public srv1.example.com
}

func ExampleClient_List() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	for _, d := range []string{"a.example.com", "b.example.com"} {
		if _, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public", Domain: d}); err != nil {
			log.Fatal(err)
		}
	}
	used, err := c.List(ctx, ipmanager.ListOptions{Group: "public", Domain: "b.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range used {
		fmt.Println(a.IP, a.Domain, a.Used)
	}
	// Output: 198.51.100.2 b.example.com true
}

func ExampleClient_Unpark() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()

	// A server waiting for a buyer holds a parking address.
	parked, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "parking", Domain: "free.ds"})
	if err != nil {
		log.Fatal(err)
	}
	// Sold: it gets a public address and the parking one goes back.
	pub, err := c.Unpark(ctx, parked.IP, ipmanager.AllocateRequest{Group: "public", Domain: "buyer.example.com"}, false)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Get(ctx, parked.IP)
	fmt.Println(parked.IP, "->", pub.IP, ipmanager.IsNotFound(err))
	// Output: 10.255.0.1 -> 198.51.100.1 true
}

func ExampleClient_ChangeGroup() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	a, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "parking"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.SetDomain(ctx, a.IP, "buyer.example.com"); err != nil {
		log.Fatal(err)
	}
	got, err := c.ChangeGroup(ctx, a.IP, "public")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.IP, got.Group, got.Domain)
	// Output: 10.255.0.1 public buyer.example.com
}

func ExampleClient_Release() {
	srv, c := exampleClient(ipmanagertest.WithGroup("public", "192.0.2.10-192.0.2.11"))
	defer srv.Close()
	ctx := context.Background()
	a, _ := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	b, _ := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	fmt.Println(errors.Is(err, ipmanager.ErrPoolExhausted))

	if err := c.Release(ctx, a.IP); err != nil {
		log.Fatal(err)
	}
	again, _ := c.Allocate(ctx, ipmanager.AllocateRequest{Group: "public"})
	fmt.Println(a.IP, b.IP, again.IP)
	// Output:
	// true
	// 192.0.2.10 192.0.2.11 192.0.2.10
}

func ExampleClient_Groups() {
	srv, c := exampleClient()
	defer srv.Close()
	groups, err := c.Groups(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range groups {
		fmt.Println(g.Name, g.Parking)
	}
	// Output:
	// public false
	// parking true
}

func ExampleNewClient() {
	c, err := ipmanager.NewClient("https://ipmgr.example.com:1500/ipmgr",
		ipmanager.WithCredentials("billing", "secret"),
		ipmanager.WithSessionAuth(),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Endpoint())
	// Output: https://ipmgr.example.com:1500/ipmgr
}
