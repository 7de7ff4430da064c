package ispmanager_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// exampleClient starts a fake panel and returns a client for it. With a
// real panel use ispmanager.NewClient("https://host:1500/ispmgr",
// ispmanager.WithCredentials(user, password)).
func exampleClient(opts ...ispmanagertest.Option) (*ispmanagertest.Server, *ispmanager.Client) {
	srv := ispmanagertest.NewServer(opts...)
	admin, pw := srv.Admin()
	c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(admin, pw))
	if err != nil {
		log.Fatal(err)
	}
	return srv, c
}

// The precedence rule: values set by billing win, unset ones come from
// the template.
func ExampleMergeLimits() {
	template := ispmanager.Limits{Databases: ispmanager.Int(25), Domains: ispmanager.Int(25)}
	tariff := ispmanager.Limits{Databases: ispmanager.Int(10)}
	account := ispmanager.MergeLimits(template, tariff)
	fmt.Println(account)
	// Output: db=10 domains=25
}

func ExampleUsersService_Create() {
	srv, c := exampleClient(ispmanagertest.WithPreset("Site hosting",
		ispmanager.Limits{Databases: ispmanager.Int(25), Domains: ispmanager.Int(25)}))
	defer srv.Close()
	ctx := context.Background()

	_, err := c.Users.Create(ctx, &ispmanager.UserCreateRequest{
		Name:     "user117",
		Password: "s3cret-Passw0rd",
		Preset:   "Site hosting",
		Limits:   ispmanager.Limits{Databases: ispmanager.Int(10)}, // from the tariff
		Domain:   "example.com",
		IPSource: ispmanager.IPDoNotAssign,
	})
	if err != nil {
		log.Fatal(err)
	}
	u, err := c.Users.Get(ctx, "user117")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Name, u.Preset, u.Active)
	fmt.Println("databases:", *u.Limits.Databases, "domains:", *u.Limits.Domains)
	// Output:
	// user117 Site hosting true
	// databases: 10 domains: 25
}

// A taken name is a typed error: try the next candidate, as BILLmanager
// does (user_665 → user_6651 → …).
func ExampleIsUserExists() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	_ = srv.AddUser(ispmanagertest.User{Name: "user_665", Active: true}, "pw-123456")

	base := "user_665"
	name := base
	for i := 1; ; i++ {
		_, err := c.Users.Create(ctx, &ispmanager.UserCreateRequest{Name: name, Password: "s3cret-Passw0rd"})
		if ispmanager.IsUserExists(err) {
			name = fmt.Sprintf("%s%d", base, i)
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		break
	}
	fmt.Println("created", name)
	// Output: created user_6651
}

// Lowering a limit below what the user already uses is refused.
func ExampleUsersService_Update() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	_, _ = c.Users.Create(ctx, &ispmanager.UserCreateRequest{Name: "busy", Password: "s3cret-Passw0rd",
		Limits: ispmanager.Limits{QuotaMiB: ispmanager.Int(200)}})
	_ = srv.SetUsage("busy", "quota", 100) // 100 MiB in use

	err := c.Users.Update(ctx, "busy", &ispmanager.UserUpdateRequest{Limits: ispmanager.Limits{QuotaMiB: ispmanager.Int(50)}})
	fmt.Println(ispmanager.IsLimitBelowUsage(err))
	err = c.Users.Update(ctx, "busy", &ispmanager.UserUpdateRequest{Limits: ispmanager.Limits{QuotaMiB: ispmanager.Int(500)}})
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}

func ExampleClient_Edition() {
	srv, c := exampleClient(ispmanagertest.WithEdition(ispmanager.EditionLite))
	defer srv.Close()
	ed, err := c.Edition(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ed)
	// Output: Lite
}

func ExampleClient_LoginURL() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	_, _ = c.Users.Create(ctx, &ispmanager.UserCreateRequest{Name: "sso", Password: "s3cret-Passw0rd"})

	link, err := c.LoginURL(ctx, "sso")
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	fmt.Println(q.Get("func"), q.Get("username"), len(q.Get("key")))
	// Output: auth sso 32
}

func ExamplePresetsService_Get() {
	srv, c := exampleClient()
	defer srv.Close()
	ctx := context.Background()
	err := c.Presets.Create(ctx, &ispmanager.Preset{Name: "Starter", Limits: ispmanager.Limits{
		QuotaMiB: ispmanager.Int(1024), Databases: ispmanager.Int(2), Shell: ispmanager.Bool(false),
	}})
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.Presets.Get(ctx, "Starter")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*p.Limits.QuotaMiB, *p.Limits.Databases, *p.Limits.Shell, *p.Limits.FTPUsers == ispmanager.Unlimited)
	// Output: 1024 2 false true
}
