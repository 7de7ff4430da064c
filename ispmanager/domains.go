package ispmanager

import (
	"context"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// DomainsService lists the domains of accounts. Get it from
// Client.Domains.
type DomainsService service

// Domain is one row of a domain list.
type Domain struct {
	// Name is the domain.
	Name string
	// Owner is the account that owns it.
	Owner string
}

// Web returns the WWW domains (sites) of account user.
//
// Calls func=webdomain with su=user.
func (s *DomainsService) Web(ctx context.Context, user string) ([]Domain, error) {
	return s.list(ctx, "Domains.Web", "webdomain", user)
}

// Mail returns the mail domains of account user.
//
// Calls func=emaildomain with su=user.
func (s *DomainsService) Mail(ctx context.Context, user string) ([]Domain, error) {
	return s.list(ctx, "Domains.Mail", "emaildomain", user)
}

// DNS returns the DNS domains of account user.
//
// Calls func=domain with su=user.
func (s *DomainsService) DNS(ctx context.Context, user string) ([]Domain, error) {
	return s.list(ctx, "Domains.DNS", "domain", user)
}

// Exists reports whether domain is already on the panel as a WWW, mail
// or DNS domain of any account: the check the vendor's WHMCS module makes
// before it asks user.add.finish to create the domain (it creates none
// when the domain exists).
//
// Calls func=webdomain, func=emaildomain and func=domain (as the
// administrator, so every account's domains are listed).
func (s *DomainsService) Exists(ctx context.Context, domain string) (bool, error) {
	if !validDomain(domain) {
		return false, argErr("Domains.Exists", "domain", "not a domain name")
	}
	want := strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, fn := range []string{"webdomain", "emaildomain", "domain"} {
		rows, err := s.c.m.List(ctx, mgr5.Request{Func: fn, Class: httpx.SafeRead})
		if err != nil {
			return false, err
		}
		for _, r := range rows {
			if strings.EqualFold(strings.TrimSuffix(r.Get("name"), "."), want) {
				return true, nil
			}
		}
	}
	return false, nil
}

func (s *DomainsService) list(ctx context.Context, op, fn, user string) ([]Domain, error) {
	if err := validateUserName(op, user); err != nil {
		return nil, err
	}
	rows, err := s.c.m.List(ctx, mgr5.Request{Func: fn, Su: user, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := make([]Domain, 0, len(rows))
	for _, r := range rows {
		out = append(out, Domain{Name: r.Get("name"), Owner: r.Get("owner")})
	}
	return out, nil
}

// AddressesService lists and adds the IP addresses of accounts. Get it
// from Client.Addresses. ISPmanager Lite has no address management.
type AddressesService service

// Address is one IP address an account can use.
type Address struct {
	// Addr is the address.
	Addr netip.Addr
	// Role is the panel's iprole: "assigned" for an address dedicated to
	// the account, "shared" (or another role) otherwise.
	Role string
}

// Dedicated reports whether the address is assigned to the account alone.
func (a Address) Dedicated() bool { return a.Role == "assigned" }

// List returns the addresses account user can use: its dedicated ones
// (role "assigned") and the shared ones. The vendor's WHMCS module reads
// the account's main address this way after creating it.
//
// Calls func=ipaddr with su=user.
func (s *AddressesService) List(ctx context.Context, user string) ([]Address, error) {
	if err := validateUserName("Addresses.List", user); err != nil {
		return nil, err
	}
	rows, err := s.c.m.List(ctx, mgr5.Request{Func: "ipaddr", Su: user, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := make([]Address, 0, len(rows))
	for _, r := range rows {
		a, err := netip.ParseAddr(strings.TrimSpace(r.Get("name")))
		if err != nil {
			return nil, &ProtocolError{Panel: "ispmanager", Func: "ipaddr", Reason: "an address row has no valid name"}
		}
		out = append(out, Address{Addr: a, Role: r.Get("iprole")})
	}
	return out, nil
}

// Add gives account user one more dedicated address of family (IPv4 or
// IPv6), a free one the panel picks, and returns it. It is sent once,
// never retried: after an error with MayHaveHappened, List the account's
// addresses before adding again.
//
// Calls func=ipaddr.edit (sok=ok, iprole=assigned, iptype, name empty,
// owner=user), as the vendor's WHMCS module does for extra addresses.
func (s *AddressesService) Add(ctx context.Context, user string, family IPType) (netip.Addr, error) {
	if err := validateUserName("Addresses.Add", user); err != nil {
		return netip.Addr{}, err
	}
	if family != IPv4 && family != IPv6 {
		return netip.Addr{}, argErr("Addresses.Add", "family", `must be "ipv4" or "ipv6"`)
	}
	d, err := s.c.m.Exec(ctx, mgr5.Request{Func: "ipaddr.edit", Sok: true, Class: httpx.NonIdempotent,
		Params: url.Values{"iprole": {"assigned"}, "iptype": {string(family)}, "name": {""}, "owner": {user}}})
	if err != nil {
		return netip.Addr{}, err
	}
	a, perr := netip.ParseAddr(strings.TrimSpace(d.ID()))
	if perr != nil {
		return netip.Addr{}, &ProtocolError{Panel: "ispmanager", Func: "ipaddr.edit", Reason: "no address in the answer's id"}
	}
	return a, nil
}
