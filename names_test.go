package ispkit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// What a customer types never reaches a panel unchecked: names with '&'
// or a NUL, 100,000-character names, passwords with line breaks and bad
// domains are refused with *ispkit.ArgumentError, and the fake panel
// receives nothing.
func TestHostileNamesNeverReachThePanel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	long := strings.Repeat("a", 100_000)
	check := func(t *testing.T, what string, err error) {
		t.Helper()
		var ae *ispkit.ArgumentError
		if !errors.As(err, &ae) {
			t.Errorf("%s: want *ispkit.ArgumentError, got %v", what, err)
		}
	}

	t.Run("dcimanager5", func(t *testing.T) {
		srv := dcimanager5test.NewServer()
		t.Cleanup(srv.Close)
		u, pw := srv.Admin()
		c, err := dcimanager5.NewClient(srv.URL(), dcimanager5.WithCredentials(u, pw))
		if err != nil {
			t.Fatal(err)
		}
		before := srv.Requests()
		for _, name := range []string{"a&b", "a\x00b", "a%00b", long, "", "-lead", "x y"} {
			_, err := c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: name, Password: "Good-pass-1"})
			check(t, "Create "+trim(name), err)
			_, err = c.Users.LoginURL(ctx, name)
			check(t, "LoginURL "+trim(name), err)
		}
		for _, pw := range []string{"", "line\nbreak", "nul\x00", strings.Repeat("p", 300)} {
			_, err := c.Users.Create(ctx, dcimanager5.UserCreateRequest{Name: "okname", Password: pw})
			check(t, "Create password", err)
			check(t, "Install password", c.Servers.Install(ctx, 1, dcimanager5.InstallRequest{Template: "ISPsystem__Debian-12-x86_64", Password: pw}))
		}
		if n := srv.Requests() - before; n != 0 {
			t.Errorf("%d requests reached the panel", n)
		}
	})

	t.Run("ispmanager", func(t *testing.T) {
		srv := ispmanagertest.NewServer()
		t.Cleanup(srv.Close)
		u, pw := srv.Admin()
		c, err := ispmanager.NewClient(srv.URL(), ispmanager.WithCredentials(u, pw))
		if err != nil {
			t.Fatal(err)
		}
		before := srv.Requests()
		for _, r := range []ispmanager.UserCreateRequest{
			{Name: "a&b", Password: "Good-pass-1"},
			{Name: long, Password: "Good-pass-1"},
			{Name: "ok1", Password: "bad\r\npass"},
			{Name: "ok1", Password: strings.Repeat("p", 300)},
			{Name: "ok1", Password: "Good-pass-1", Domain: "a&b.example"},
			{Name: "ok1", Password: "Good-pass-1", Domain: long + ".example"},
			{Name: "ok1", Password: "Good-pass-1", FullName: "x\x00y"},
		} {
			_, err := c.Users.Create(ctx, &r)
			check(t, "Create", err)
		}
		if n := srv.Requests() - before; n != 0 {
			t.Errorf("%d requests reached the panel", n)
		}
	})

	t.Run("ipmanager", func(t *testing.T) {
		srv := ipmanagertest.NewServer()
		t.Cleanup(srv.Close)
		c, err := ipmanager.NewClient(srv.URL(), ipmanager.WithCredentials(ipmanagertest.DefaultUser, ipmanagertest.DefaultPassword))
		if err != nil {
			t.Fatal(err)
		}
		before := srv.Requests()
		for _, d := range []string{"a&b.example", "x\x00.example", long} {
			_, err := c.Allocate(ctx, ipmanager.AllocateRequest{Family: ipmanager.IPv4, Group: "public", Domain: d, Note: "n"})
			check(t, "Allocate domain", err)
		}
		_, err = c.Allocate(ctx, ipmanager.AllocateRequest{Family: ipmanager.IPv4, Group: "public", Domain: "ok.example", Note: strings.Repeat("n", 5000)})
		check(t, "Allocate note", err)
		if n := srv.Requests() - before; n != 0 {
			t.Errorf("%d requests reached the panel", n)
		}
	})

	t.Run("dcimanager6", func(t *testing.T) {
		f := dcimanager6test.NewServer()
		t.Cleanup(f.Close)
		c, err := dcimanager6.NewClient(f.URL(), dcimanager6.WithCredentials(dcimanager6test.AdminEmail, dcimanager6test.AdminPassword))
		if err != nil {
			t.Fatal(err)
		}
		before := len(f.Requests())
		for _, r := range []dcimanager6.UserCreateRequest{
			{Email: "a&b", Password: "Good-pass-1"},
			{Email: "x y@example.com", Password: "Good-pass-1"},
			{Email: long + "@example.com", Password: "Good-pass-1"},
			{Email: "ok@example.com", Password: "bad\npass"},
			{Email: "ok@example.com", Password: strings.Repeat("p", 300)},
		} {
			_, err := c.Users.Create(ctx, r)
			check(t, "Create", err)
		}
		if n := len(f.Requests()) - before; n != 0 {
			t.Errorf("%d requests reached the panel", n)
		}
	})
}

func trim(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
