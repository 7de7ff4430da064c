package dcimanager5

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// IPsService manages the IP addresses of servers. Get it from Client.IPs.
type IPsService service

// IP address families for IPAddRequest.Family.
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
)

// DefaultIPGroup is the IP group (iptype) used when none is given.
const DefaultIPGroup = "public"

// IP is one address of a server.
type IP struct {
	// ID is the address id (elid of iplist.edit and iplist.delete).
	ID int64
	// Address is the IP address.
	Address string
	// Domain is the address's domain name (free.ds on a free server).
	Domain string
	// Group is the IP group (iptype), when the panel shows it.
	Group string
	// Family is "ipv4" or "ipv6", derived from Address when not shown.
	Family string
}

type wireIP struct {
	ID     text `json:"id"`
	IP     text `json:"ip"`
	Domain text `json:"domain"`
	Type   text `json:"type"`
	IPType text `json:"iptype"`
	Family text `json:"family"`
}

func familyOf(addr string) string {
	a, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return ""
	case a.Is4():
		return FamilyIPv4
	default:
		return FamilyIPv6
	}
}

// List returns the addresses of server serverID, leaving out the group
// header rows (type=group) the panel mixes into the list.
//
// Calls func=iplist.
func (s *IPsService) List(ctx context.Context, serverID int64) ([]IP, error) {
	if err := checkID("IPs.List", "serverID", serverID); err != nil {
		return nil, err
	}
	d, err := s.c.call(ctx, mgr5.Request{Func: "iplist", Elid: []string{idStr(serverID)}, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	ws, err := elems[wireIP](d, "iplist")
	if err != nil {
		return nil, err
	}
	out := make([]IP, 0, len(ws))
	for _, w := range ws {
		if w.Type.T == "group" || w.Type.Orig == "group" {
			continue
		}
		ip := IP{Address: w.IP.T, Domain: w.Domain.T, Group: w.IPType.T, Family: w.Family.T}
		ip.ID, _ = parseID(w.ID.T)
		if ip.Family == "" {
			ip.Family = familyOf(ip.Address)
		}
		out = append(out, ip)
	}
	return out, nil
}

// IPAddRequest adds an address to a server.
type IPAddRequest struct {
	// Address is a specific address to add; empty lets the panel allocate
	// the next free address of Group and Family.
	Address string
	// Family is "ipv4" (default) or "ipv6".
	Family string
	// Group is the IP group (iptype) to allocate from; default "public".
	Group string
	// Domain is the domain name of the address.
	Domain string
}

type ipAddParams struct {
	IP     string `url:"ip"`
	Family string `url:"family"`
	IPType string `url:"iptype"`
	Domain string `url:"domain"`
}

// Add adds an address to server serverID and returns it, with the address
// the panel allocated. The call is sent once and never retried: a retry
// could allocate a second address. On a transport error check
// MayHaveHappened and re-list the server's IPs.
//
// Calls func=iplist.edit (sok=ok, no elid).
func (s *IPsService) Add(ctx context.Context, serverID int64, r IPAddRequest) (*IP, error) {
	if err := checkID("IPs.Add", "serverID", serverID); err != nil {
		return nil, err
	}
	if r.Family == "" {
		r.Family = FamilyIPv4
	}
	if r.Family != FamilyIPv4 && r.Family != FamilyIPv6 {
		return nil, argErr("IPs.Add", "Family", fmt.Sprintf("%q is not ipv4 or ipv6", r.Family))
	}
	if r.Group == "" {
		r.Group = DefaultIPGroup
	}
	if !validName(r.Group) {
		return nil, argErr("IPs.Add", "Group", "empty or contains spaces")
	}
	if r.Address != "" {
		if f := familyOf(r.Address); f == "" {
			return nil, argErr("IPs.Add", "Address", fmt.Sprintf("%q is not an IP address", r.Address))
		} else if f != r.Family {
			return nil, argErr("IPs.Add", "Address", fmt.Sprintf("%q is not an %s address", r.Address, r.Family))
		}
	}
	if r.Domain != "" && !validHostname(r.Domain) {
		return nil, argErr("IPs.Add", "Domain", fmt.Sprintf("%q is not a domain name", r.Domain))
	}
	d, err := s.c.exec(ctx, mgr5.Request{Func: "iplist.edit", Plid: idStr(serverID), Sok: true,
		Params: ipAddParams{IP: r.Address, Family: r.Family, IPType: r.Group, Domain: r.Domain}, Class: httpx.NonIdempotent})
	if err != nil {
		return nil, err
	}
	ip := &IP{Address: d.Text("ip"), Domain: r.Domain, Group: r.Group, Family: r.Family}
	if ip.Address == "" {
		ip.Address = r.Address
	}
	if ip.Address == "" {
		return nil, &ProtocolError{Panel: "dcimanager5", Func: "iplist.edit", Reason: "the panel did not return the allocated address"}
	}
	ip.ID, _ = parseID(d.ID())
	return ip, nil
}

// SetDomain sets the domain name of address ipID of server serverID. On
// the main address this changes the server's hostname.
//
// Calls func=iplist.edit (sok=ok, elid=ipID).
func (s *IPsService) SetDomain(ctx context.Context, serverID, ipID int64, domain string) error {
	if err := checkID("IPs.SetDomain", "serverID", serverID); err != nil {
		return err
	}
	if err := checkID("IPs.SetDomain", "ipID", ipID); err != nil {
		return err
	}
	if !validHostname(domain) || domain == "" {
		return argErr("IPs.SetDomain", "domain", fmt.Sprintf("%q is not a domain name", domain))
	}
	_, err := s.c.exec(ctx, mgr5.Request{Func: "iplist.edit", Plid: idStr(serverID), Elid: []string{idStr(ipID)}, Sok: true,
		Params: struct {
			Domain string `url:"domain"`
		}{domain}, Class: httpx.IdempotentWrite})
	return err
}

// SetAllDomains sets domain on every address of server serverID (what the
// WHMCS module does on create, and with "free.ds" on terminate).
//
// Calls func=iplist, then func=iplist.edit per address.
func (s *IPsService) SetAllDomains(ctx context.Context, serverID int64, domain string) error {
	ips, err := s.List(ctx, serverID)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if ip.Domain == domain {
			continue
		}
		if err := s.SetDomain(ctx, serverID, ip.ID, domain); err != nil {
			return fmt.Errorf("dcimanager5: set domain of %s: %w", ip.Address, err)
		}
	}
	return nil
}

// Delete removes address ipID from server serverID. It is retried on
// transport errors; a retry after a lost answer can report IsNotFound.
//
// Calls func=iplist.delete.
func (s *IPsService) Delete(ctx context.Context, serverID, ipID int64) error {
	if err := checkID("IPs.Delete", "serverID", serverID); err != nil {
		return err
	}
	if err := checkID("IPs.Delete", "ipID", ipID); err != nil {
		return err
	}
	_, err := s.c.exec(ctx, mgr5.Request{Func: "iplist.delete", Plid: idStr(serverID), Elid: []string{idStr(ipID)}, Class: httpx.IdempotentWrite})
	return err
}

// OSTemplatesService lists OS templates. Get it from Client.OSTemplates.
type OSTemplatesService service

// OSTemplate is one OS template.
type OSTemplate struct {
	// ID is "<repository>__<template>", the value Install takes.
	ID string
	// Name is the template name within its repository.
	Name string
	// Repository is the repository name ("ISPsystem", "local", …).
	Repository string
	// OSType is the OS family shown by the panel, if any.
	OSType string
}

type wireTemplate struct {
	ID     text `json:"id"`
	Name   text `json:"name"`
	Repo   text `json:"repo"`
	OSType text `json:"ostype"`
}

// List returns the OS templates.
//
// Calls func=osmgr.
func (s *OSTemplatesService) List(ctx context.Context) ([]OSTemplate, error) {
	d, err := s.c.call(ctx, mgr5.Request{Func: "osmgr", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	ws, err := elems[wireTemplate](d, "osmgr")
	if err != nil {
		return nil, err
	}
	out := make([]OSTemplate, 0, len(ws))
	for _, w := range ws {
		t := OSTemplate{ID: w.ID.T, Name: w.Name.T, Repository: w.Repo.T, OSType: w.OSType.T}
		if w.Name.Orig != "" {
			t.Name = w.Name.Orig
		}
		if !strings.Contains(t.ID, "__") && t.Repository != "" && t.Name != "" {
			t.ID = t.Repository + "__" + t.Name
		}
		if t.Repository == "" || t.Name == "" {
			if repo, name, ok := strings.Cut(t.ID, "__"); ok {
				t.Repository, t.Name = repo, name
			}
		}
		out = append(out, t)
	}
	return out, nil
}
