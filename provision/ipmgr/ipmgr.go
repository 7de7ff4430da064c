// Package ipmgr adapts the ipmanager client to provision.IPPool, so the
// engine can swap a server's parking address for a public one and hand out
// additional addresses through IPmanager.
//
// Choices: Release of an address that is not allocated succeeds (the
// engine retries releases after a crash); FindByNote lists the allocated
// addresses and filters on the note (IPmanager has no note filter).
package ipmgr

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/provision"
)

// Pool is a provision.IPPool over an IPmanager client.
type Pool struct {
	c *ipmanager.Client
}

var (
	_ provision.IPPool       = (*Pool)(nil)
	_ provision.NotedLister  = (*Pool)(nil)
	_ provision.PoolCapacity = (*Pool)(nil)
)

// New returns a Pool using c. Give c its rate limit and logger options
// (ipmanager.WithRateLimit, ipmanager.WithLogger).
func New(c *ipmanager.Client) *Pool { return &Pool{c: c} }

// Allocate takes the next free address of family in group, marked with
// domain and note.
func (p *Pool) Allocate(ctx context.Context, family, group, domain, note string) (string, error) {
	a, err := p.c.Allocate(ctx, ipmanager.AllocateRequest{Family: ipmanager.Family(family), Group: group, Domain: domain, Note: note})
	if err != nil {
		return "", err
	}
	return a.IP.String(), nil
}

// FindByNote returns the allocated addresses whose note is note.
func (p *Pool) FindByNote(ctx context.Context, note string) ([]string, error) {
	all, err := p.c.List(ctx, ipmanager.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range all {
		if a.Note == note && a.Used {
			out = append(out, a.IP.String())
		}
	}
	return out, nil
}

// Release returns ip to its pool; an address that is not allocated is not
// an error.
func (p *Pool) Release(ctx context.Context, ip string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("ipmgr: release %q: %w", ip, err)
	}
	if err := p.c.Release(ctx, addr); err != nil && !ipmanager.IsNotFound(err) {
		return err
	}
	return nil
}

// ChangeGroup moves ip to group.
func (p *Pool) ChangeGroup(ctx context.Context, ip, group string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("ipmgr: change group of %q: %w", ip, err)
	}
	_, err = p.c.ChangeGroup(ctx, addr, group)
	return err
}

// ListNoted implements provision.NotedLister: the allocated addresses
// whose note begins with prefix (one list call; IPmanager has no note
// filter).
func (p *Pool) ListNoted(ctx context.Context, prefix string) ([]provision.PoolAddress, error) {
	all, err := p.c.List(ctx, ipmanager.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []provision.PoolAddress
	for _, a := range all {
		if a.Used && strings.HasPrefix(a.Note, prefix) {
			out = append(out, provision.PoolAddress{IP: a.IP.String(), Group: a.Group, Domain: a.Domain, Note: a.Note})
		}
	}
	return out, nil
}

// FreeCount implements provision.PoolCapacity: the group's free
// addresses of family, as the address list shows them (state free). A
// panel that bounds the free rows of one list call gives a lower bound,
// enough to check an order's few addresses. A group the panel does not
// know has none.
func (p *Pool) FreeCount(ctx context.Context, family, group string) (int64, error) {
	free, err := p.c.List(ctx, ipmanager.ListOptions{Group: group, Family: ipmanager.Family(family), State: ipmanager.StateFree})
	if ipmanager.IsNotFound(err) {
		return 0, nil // no such group: nothing to hand out
	}
	if err != nil {
		return 0, err
	}
	return int64(len(free)), nil
}
