package fakebackend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ispkit/ispkit/provision"
)

// Pool is a fake IPmanager.
type Pool struct {
	mu    sync.Mutex
	free  map[string][]string // group -> free addresses
	used  map[string]alloc    // ip -> allocation
	group map[string]string   // ip -> group
	calls atomic.Int64
	// BeforeCall, when set, runs before every call.
	BeforeCall func(method string) error
	// AfterCall, when set, runs after every successful call.
	AfterCall func(method string)
}

type alloc struct{ group, domain, note string }

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{free: map[string][]string{}, used: map[string]alloc{}, group: map[string]string{}}
}

// AddRange adds free addresses to group.
func (p *Pool) AddRange(group string, ips ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ip := range ips {
		p.free[group] = append(p.free[group], ip)
		p.group[ip] = group
	}
}

// MarkUsed records ip (of group) as allocated (parking addresses of
// racked servers).
func (p *Pool) MarkUsed(group, ip, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.group[ip] = group
	p.free[group] = slices.DeleteFunc(p.free[group], func(x string) bool { return x == ip })
	p.used[ip] = alloc{group: group, note: note}
}

// Used returns the allocated addresses by group.
func (p *Pool) Used() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]string{}
	for ip, a := range p.used {
		out[a.group] = append(out[a.group], ip)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// Calls returns the number of calls made.
func (p *Pool) Calls() int64 { return p.calls.Load() }

func (p *Pool) call(ctx context.Context, method string) (func(), error) {
	p.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.BeforeCall != nil {
		if err := p.BeforeCall(method); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	return func() {
		p.mu.Unlock()
		if p.AfterCall != nil {
			p.AfterCall(method)
		}
	}, nil
}

// Allocate implements provision.IPPool.
func (p *Pool) Allocate(ctx context.Context, family, group, domain, note string) (string, error) {
	done, err := p.call(ctx, "Allocate")
	if err != nil {
		return "", err
	}
	defer done()
	for i, ip := range p.free[group] {
		if (family == "ipv6") != (len(ip) > 15 || slices.Contains([]byte(ip), ':')) {
			continue
		}
		p.free[group] = slices.Delete(p.free[group], i, i+1)
		p.used[ip] = alloc{group: group, domain: domain, note: note}
		return ip, nil
	}
	return "", fmt.Errorf("fakebackend: no free %s address in group %q", family, group)
}

// FindByNote implements provision.IPPool.
func (p *Pool) FindByNote(ctx context.Context, note string) ([]string, error) {
	done, err := p.call(ctx, "FindByNote")
	if err != nil {
		return nil, err
	}
	defer done()
	var out []string
	for ip, a := range p.used {
		if a.note == note {
			out = append(out, ip)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Release implements provision.IPPool (no-op for a free address).
func (p *Pool) Release(ctx context.Context, ip string) error {
	done, err := p.call(ctx, "Release")
	if err != nil {
		return err
	}
	defer done()
	a, ok := p.used[ip]
	if !ok {
		return nil
	}
	delete(p.used, ip)
	p.free[a.group] = append(p.free[a.group], ip)
	return nil
}

// ChangeGroup implements provision.IPPool.
func (p *Pool) ChangeGroup(ctx context.Context, ip, group string) error {
	done, err := p.call(ctx, "ChangeGroup")
	if err != nil {
		return err
	}
	defer done()
	if a, ok := p.used[ip]; ok {
		a.group = group
		p.used[ip] = a
	}
	p.group[ip] = group
	return nil
}

var (
	_ provision.IPPool       = (*Pool)(nil)
	_ provision.NotedLister  = (*Pool)(nil)
	_ provision.PoolCapacity = (*Pool)(nil)
)

// ListNoted implements provision.NotedLister.
func (p *Pool) ListNoted(ctx context.Context, prefix string) ([]provision.PoolAddress, error) {
	done, err := p.call(ctx, "ListNoted")
	if err != nil {
		return nil, err
	}
	defer done()
	var out []provision.PoolAddress
	for ip, a := range p.used {
		if strings.HasPrefix(a.note, prefix) {
			out = append(out, provision.PoolAddress{IP: ip, Group: a.group, Domain: a.domain, Note: a.note})
		}
	}
	slices.SortFunc(out, func(a, b provision.PoolAddress) int { return strings.Compare(a.IP, b.IP) })
	return out, nil
}

// FreeCount implements provision.PoolCapacity: the free addresses of
// family in group.
func (p *Pool) FreeCount(ctx context.Context, family, group string) (int64, error) {
	done, err := p.call(ctx, "FreeCount")
	if err != nil {
		return 0, err
	}
	defer done()
	var n int64
	for _, ip := range p.free[group] {
		if (family == "ipv6") == strings.Contains(ip, ":") {
			n++
		}
	}
	return n, nil
}
