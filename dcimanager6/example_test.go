package dcimanager6_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
)

func ExampleNewClient() {
	fake := dcimanager6test.NewServer()
	defer fake.Close()

	client, err := dcimanager6.NewClient(fake.URL(),
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword),
		dcimanager6.WithApplication("my-billing", "1.0"),
	)
	if err != nil {
		log.Fatal(err)
	}
	locs, total, err := client.Locations.List(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(total, "locations")
	for _, l := range locs {
		fmt.Println(l.ID, l.Name)
	}
	// Output:
	// 2 locations
	// 1 Amsterdam
	// 2 Frankfurt
}

func ExampleWhere() {
	w := dcimanager6.And(
		dcimanager6.IsNull("owner_email"),
		dcimanager6.EQ("is_new", false),
		dcimanager6.Group(dcimanager6.EQ("location_id", 3)),
		dcimanager6.Not(dcimanager6.CP("domain", "%extended.%")),
		dcimanager6.EQ("name", "O'Brien's box"),
	)
	fmt.Println(w)
	// Output:
	// owner_email IS null AND is_new EQ false AND (location_id EQ 3) AND NOT domain CP '%extended.%' AND name EQ 'O''Brien''s box'
}

func ExampleServersService_ListFree() {
	fake := dcimanager6test.NewServer()
	defer fake.Close()
	client, _ := dcimanager6.NewClient(fake.URL(),
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))
	ctx := context.Background()

	servers, total, err := client.Servers.ListFree(ctx, 1, "E-2146G-64Gb-1920SSD",
		&dcimanager6.ListOptions{OrderBy: dcimanager6.Asc("name"), Limit: dcimanager6.Limit(0, 10)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(total, "free")
	for _, s := range servers {
		fmt.Println(s.Name, s.Configuration)
	}
	// Output:
	// 2 free
	// srv-ams-01 E-2146G-64Gb-1920SSD
	// srv-ams-02 E-2146G-64Gb-1920SSD
}

func ExampleServersService_All() {
	fake := dcimanager6test.NewServer()
	defer fake.Close()
	client, _ := dcimanager6.NewClient(fake.URL(),
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))

	// Pages of three, fetched as the loop goes.
	for s, err := range client.Servers.All(context.Background(), &dcimanager6.ListOptions{
		Where: dcimanager6.EQ("location_id", 2), Limit: dcimanager6.Limit(0, 3)}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.ID, s.Name)
	}
	// Output:
	// 8 srv-fra-01
	// 9 srv-fra-02
}

func ExampleServersService_Install() {
	fake := dcimanager6test.NewServer(dcimanager6test.WithDurations(50*time.Millisecond, 10*time.Millisecond))
	defer fake.Close()
	client, _ := dcimanager6.NewClient(fake.URL(),
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword),
		dcimanager6.WithPollInterval(5*time.Millisecond, 20*time.Millisecond))
	ctx := context.Background()

	userID, err := client.Users.Create(ctx, dcimanager6.UserCreateRequest{Email: "jane@example.com", Password: "s3cret-pw"})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Servers.SetOwner(ctx, 1, userID); err != nil {
		log.Fatal(err)
	}
	res, err := client.Servers.Install(ctx, 1, dcimanager6.InstallRequest{
		TemplateID: 1, Password: "r00t-pw", Hostname: "jane.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := client.Servers.WaitInstalled(ctx, 1, dcimanager6.ForOperation(res.OperationID))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.Domain, srv.OwnerEmail, srv.OSTemplate.Name, srv.PowerStatus, srv.IPs[0].Name)
	// Output:
	// jane.example.com jane@example.com Ubuntu 24.04 on 192.0.2.11
}

func ExampleIsConflict() {
	fake := dcimanager6test.NewServer()
	defer fake.Close()
	client, _ := dcimanager6.NewClient(fake.URL(),
		dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))

	_, err := client.Users.Create(context.Background(),
		dcimanager6.UserCreateRequest{Email: "client1@example.com", Password: "x"})
	fmt.Println(dcimanager6.IsConflict(err))
	// Output:
	// true
}
